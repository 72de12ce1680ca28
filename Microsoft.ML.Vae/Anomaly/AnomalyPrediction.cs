namespace Microsoft.ML.Vae.Anomaly;

/// <summary>A detector's verdict on one row.</summary>
/// <param name="Score">The anomaly score (higher = more anomalous), of the detector's <see cref="AnomalyScoreKind"/>.</param>
/// <param name="PredictedLabel">True when <paramref name="Score"/> is above the detector's threshold.</param>
public readonly record struct AnomalyPrediction(float Score, bool PredictedLabel);
