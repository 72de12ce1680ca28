namespace Microsoft.ML.Vae;

/// <summary>Reported after every minibatch (the device loop: every <see cref="VaeTrainerOptions.DeviceReportInterval"/> batches). <see cref="Bound"/> is the mean bound per row over the epoch so far (nats).</summary>
public sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int BatchesPerEpoch, double Bound, double? ValidationBound, TimeSpan Elapsed)
{
    /// <summary>
    /// Where the batches are drawn and trained: "host", "device" (<see cref="VaeTrainerOptions.TrainOnDevice"/>), or
    /// "host (the device loop ...)" saying why the device loop asked for does not run these options.
    /// </summary>
    public string TrainingLoop { get; init; } = "host";
}

/// <summary>One finished epoch: mean training bound, and the validation bound when a validation split is used.</summary>
public sealed record EpochSummary(int Epoch, double TrainingBound, double? ValidationBound, TimeSpan Elapsed);
