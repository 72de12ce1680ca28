using Microsoft.ML.Vae.Engine.Managed.Layers;

namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// The dense layer's epilogue: <c>C[r, column] = f(C[r, column] + bias[column])</c> with an activation f
/// (<see cref="Activation.Identity"/> for none), in one pass over each finished block while it is in cache.
/// <see cref="Activations.Apply(Activation, Span{float}, ReadOnlySpan{float})"/> gives every element the same result
/// wherever it sits in a span, so the result does not depend on the GEMM's blocking.
/// </summary>
internal readonly struct GemmBiasActivation(ReadOnlyMemory<float> bias, Activation activation) : IGemmEpilogue
{
    public void Apply(int rowStart, int rowCount, int columnStart, int columnCount, Span<float> block, int ldc)
    {
        ReadOnlySpan<float> columnBias = bias.Span.Slice(columnStart, columnCount);
        for (int i = 0; i < rowCount; i++)
            Activations.Apply(activation, block.Slice(i * ldc, columnCount), columnBias);
    }
}
