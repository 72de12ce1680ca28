using Microsoft.ML.Runtime;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// Reports a training run through the MLContext: one Info message per finished epoch on the component's channel, and
/// the latest bound for ML.NET's progress polls. Synchronous: <see cref="Progress{T}"/> would post to a
/// synchronization context.
/// </summary>
internal sealed class TrainingLog : IProgress<TrainingProgress>, IDisposable
{
    private readonly IChannel _channel;
    private readonly IProgressChannel _progressChannel;
    private TrainingProgress? _latest;

    public TrainingLog(IHost host)
    {
        _channel = host.Start("Training");
        _progressChannel = host.StartProgressChannel("VAE training");
        _progressChannel.SetHeader(new ProgressHeader(["Bound"], ["epochs", "batches"]), entry =>
        {
            if (Volatile.Read(ref _latest) is not { } p)
                return;
            entry.SetProgress(0, p.Epoch - 1, p.Epochs);
            entry.SetProgress(1, p.Batch, p.BatchesPerEpoch);
            entry.SetMetric(0, p.Bound);
        });
    }

    /// <summary>The component's channel, for its own messages.</summary>
    public IChannel Channel => _channel;

    /// <summary>Keeps the report; when an epoch changes, logs the previous epoch's last report (the one with its validation bound).</summary>
    public void Report(TrainingProgress value)
    {
        var previous = Interlocked.Exchange(ref _latest, value);
        if (previous is not null && previous.Epoch != value.Epoch)
            LogEpoch(previous);
    }

    /// <summary>Logs the last epoch of the run.</summary>
    public void Finish()
    {
        if (Interlocked.Exchange(ref _latest, null) is { } last)
            LogEpoch(last);
    }

    private void LogEpoch(TrainingProgress epoch)
    {
        _progressChannel.Checkpoint(epoch.Bound, epoch.Epoch);
        _channel.Info(MessageSensitivity.None, $"Epoch {epoch.Epoch}/{epoch.Epochs}: bound {epoch.Bound:F3}" +
            $"{(epoch.ValidationBound is { } v ? $", validation {v:F3}" : "")} ({epoch.Elapsed.TotalSeconds:F1} s).");
    }

    public void Dispose()
    {
        _progressChannel.Dispose();
        _channel.Dispose();
    }
}
