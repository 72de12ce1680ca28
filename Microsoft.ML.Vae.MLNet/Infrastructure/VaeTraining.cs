using Microsoft.ML.Runtime;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// Runs the core trainer for an estimator: seed, device, progress and log through the MLContext's channels.
/// </summary>
internal static class VaeTraining
{
    /// <summary>
    /// The seed of a Fit: the options' <see cref="VaeComponentOptions.Seed"/>, else the next value of the component's
    /// host random, which <c>new MLContext(seed)</c> makes reproducible (ML.NET's rule for its own trainers).
    /// </summary>
    public static int ResolveSeed(IHost host, VaeComponentOptions options) => options.Seed ?? host.Rand.Next();

    public static VaeModel Train(IHostEnvironment environment, IHost host, FeatureMatrix data, VaeComponentOptions options, int seed)
    {
        var trainerOptions = options.Trainer.Clone();
        trainerOptions.Seed = seed;
        SelectDevice(environment, trainerOptions);

        using var channel = host.Start("Training");
        using var progressChannel = host.StartProgressChannel("VAE training");
        var progress = new EpochProgress(epoch =>
        {
            progressChannel.Checkpoint(epoch.Bound, epoch.Epoch);
            channel.Info(MessageSensitivity.None, $"Epoch {epoch.Epoch}/{epoch.Epochs}: bound {epoch.Bound:F3}" +
                $"{(epoch.ValidationBound is { } v ? $", validation {v:F3}" : "")} ({epoch.Elapsed.TotalSeconds:F1} s).");
        });
        progressChannel.SetHeader(new ProgressHeader(["Bound"], ["epochs", "batches"]), entry =>
        {
            if (progress.Latest is not { } p)
                return;
            entry.SetProgress(0, p.Epoch - 1, p.Epochs);
            entry.SetProgress(1, p.Batch, p.BatchesPerEpoch);
            entry.SetMetric(0, p.Bound);
        });
        channel.Info(MessageSensitivity.None,
            $"Training a VAE on {data.Rows} rows of {data.Columns} features: latent {options.Model.LatentSize}, K = {trainerOptions.SampleCount}, " +
            $"{trainerOptions.Epochs} epochs, seed {seed}, engine {trainerOptions.Engine}.");

        var model = new VaeTrainer(options.Model, trainerOptions).Fit(data, progress, options.CancellationToken);
        progress.Finish();
        return model;
    }

    /// <summary>
    /// Maps <see cref="MLContext.GpuDeviceId"/> / <see cref="MLContext.FallbackToCpu"/> onto the core's engine choice:
    /// a GPU id selects the libtorch engine on that CUDA device. Options that already name the libtorch engine win.
    /// </summary>
    internal static void SelectDevice(IHostEnvironment environment, VaeTrainerOptions options)
    {
        var (gpuDeviceId, fallbackToCpu) = MLNetInternals.GetDeviceSettings(environment);
        if (gpuDeviceId is not { } gpu || options.Engine == EngineKind.LibTorch)
            return;
        options.Engine = EngineKind.LibTorch;
        options.Device = $"cuda:{gpu}";
        options.FallbackToCpu = fallbackToCpu;
    }

    /// <summary>
    /// Keeps the last report for the progress channel's polls, and calls back once per finished epoch with that epoch's
    /// last report (the one with its validation bound), when the next epoch starts or training ends. Synchronous:
    /// <see cref="Progress{T}"/> would post to a synchronization context.
    /// </summary>
    private sealed class EpochProgress(Action<TrainingProgress> epochEnded) : IProgress<TrainingProgress>
    {
        private TrainingProgress? _latest;

        public TrainingProgress? Latest => Volatile.Read(ref _latest);

        public void Report(TrainingProgress value)
        {
            var previous = Interlocked.Exchange(ref _latest, value);
            if (previous is not null && previous.Epoch != value.Epoch)
                epochEnded(previous);
        }

        public void Finish()
        {
            if (Latest is { } last)
                epochEnded(last);
        }
    }
}
