namespace Microsoft.ML.Vae.Anomaly;

/// <summary>The stages of fitting an anomaly detector, in order (the training stages once per model of an ensemble).</summary>
public enum AnomalyStage { TrainingModel, TrainingBackground, Calibrating }

/// <summary>
/// Reported while a detector is fitted: <see cref="Training"/> during the training stages, and rows scored out of
/// <see cref="Rows"/> while calibrating. <see cref="Model"/> counts the models of an ensemble from 0 to
/// <see cref="ModelCount"/> − 1.
/// </summary>
public sealed record AnomalyProgress(AnomalyStage Stage, TrainingProgress? Training, int RowsDone, int Rows, int Model = 0, int ModelCount = 1);
