namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// Passes each report straight on, on the reporting thread. (System.Progress&lt;T&gt; posts to the thread pool,
/// so its reports could arrive out of order or after the work has returned.)
/// </summary>
internal sealed class ForwardingProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
