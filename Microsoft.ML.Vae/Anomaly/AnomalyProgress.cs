namespace Microsoft.ML.Vae.Anomaly;

/// <summary>The stages of fitting an anomaly detector, in order.</summary>
public enum AnomalyStage { TrainingModel, TrainingBackground, Calibrating }

/// <summary>
/// Reported while a detector is fitted: <see cref="Training"/> during the training stages, and rows scored out of
/// <see cref="Rows"/> while calibrating.
/// </summary>
public sealed record AnomalyProgress(AnomalyStage Stage, TrainingProgress? Training, int RowsDone, int Rows);
