namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>Temporary values of a fixed width per worker of <see cref="RowRanges.For"/>, allocated once per component.</summary>
internal sealed class WorkerScratch(int width, int workers)
{
    private readonly float[] _values = new float[width * workers];

    public Span<float> For(int worker) => _values.AsSpan(worker * width, width);
}
