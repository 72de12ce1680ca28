using System.Numerics.Tensors;
using Microsoft.ML.Vae.Engine.Managed.Layers;

namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// The dense layer's epilogue: adds <c>bias[column]</c> to every element of C, then applies an activation
/// (<see cref="Activation.Identity"/> for none). The results are bit-identical to the separate passes the engine ran
/// before (GEMM; <c>TensorPrimitives.Add(row, bias, row)</c> per row; <see cref="Activations.Apply"/> over the rows)
/// because it runs the same operations: the addition is exact per element, and the activation is applied to spans of
/// at least <see cref="MinActivationSpan"/> floats, so that it always takes the SIMD path, as it does on the engine's
/// spans of whole rows. (TensorPrimitives computes the last 1–3 elements of a short span with the scalar function,
/// which may differ in the last bit.)
/// </summary>
internal readonly struct GemmBiasActivation(ReadOnlyMemory<float> bias, Activation activation) : IGemmEpilogue
{
    /// <summary>A span this long takes TensorPrimitives' vector path at every SIMD width (a Vector512 holds 16 floats).</summary>
    public const int MinActivationSpan = 16;

    public void Apply(int rowStart, int rowCount, int columnStart, int columnCount, Span<float> block, int ldc)
    {
        ReadOnlySpan<float> columnBias = bias.Span.Slice(columnStart, columnCount);
        for (int i = 0; i < rowCount; i++)
        {
            Span<float> row = block.Slice(i * ldc, columnCount);
            TensorPrimitives.Add(row, columnBias, row);
        }

        if (activation == Activation.Identity)
            return;

        // Whole rows are contiguous: one call over the block, as the engine's pass over its rows.
        if (ldc == columnCount || rowCount == 1)
        {
            ApplyActivation(block[..((rowCount - 1) * ldc + columnCount)]);
            return;
        }

        for (int i = 0; i < rowCount; i++)
            ApplyActivation(block.Slice(i * ldc, columnCount));
    }

    /// <summary>Applies the activation in place; a span shorter than <see cref="MinActivationSpan"/> goes through a padded copy.</summary>
    private void ApplyActivation(Span<float> values)
    {
        if (values.Length >= MinActivationSpan)
        {
            Activations.Apply(activation, values);
            return;
        }

        Span<float> padded = stackalloc float[MinActivationSpan];
        padded.Clear();
        values.CopyTo(padded);
        Activations.Apply(activation, padded);
        padded[..values.Length].CopyTo(values);
    }
}
