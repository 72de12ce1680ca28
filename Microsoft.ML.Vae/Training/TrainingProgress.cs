namespace Microsoft.ML.Vae;

/// <summary>Reported after every minibatch. <see cref="Bound"/> is the mean bound per row over the epoch so far (nats).</summary>
public sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int BatchesPerEpoch, double Bound, double? ValidationBound, TimeSpan Elapsed);

/// <summary>One finished epoch: mean training bound, and the validation bound when a validation split is used.</summary>
public sealed record EpochSummary(int Epoch, double TrainingBound, double? ValidationBound, TimeSpan Elapsed);
