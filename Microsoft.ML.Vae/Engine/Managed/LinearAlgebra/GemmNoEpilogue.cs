namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>The plain product: no work on the finished blocks (the call is inlined away).</summary>
internal readonly struct GemmNoEpilogue : IGemmEpilogue
{
    public void Apply(int rowStart, int rowCount, int columnStart, int columnCount, Span<float> block, int ldc)
    {
    }
}
