using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.Vae.Mathematics;

/// <summary>A function of one float, on 16 lanes and (for CPUs without 256-bit SIMD) on one value.</summary>
internal interface IVectorFunction
{
    static abstract Vector512<float> Value(Vector512<float> x);

    static abstract float Value(float x);
}

/// <summary>
/// Elementwise maps over spans with the engine's own vector functions. Where 256-bit SIMD is accelerated every element
/// goes through the 16-lane form wherever it sits in the span (the 512-bit code runs as two halves on AVX2), so the
/// result of an element does not depend on how a caller splits its spans.
/// </summary>
internal static class VectorElementwise
{
    /// <summary>values = F(values).</summary>
    public static void Map<TFunction>(Span<float> values) where TFunction : IVectorFunction => Map<TFunction>(values, []);

    /// <summary>
    /// values = F(values + bias); <paramref name="bias"/> is empty or as long as the values. A ragged end is done as
    /// one more vector over the last 16 elements, loaded before the loop overwrites them, so every element gets the
    /// lanes it would get anywhere else; spans under 16 go through a zero-padded vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Map<TFunction>(Span<float> values, ReadOnlySpan<float> bias) where TFunction : IVectorFunction
    {
        int n = values.Length;
        bool hasBias = !bias.IsEmpty;
        if (hasBias && bias.Length != n) throw new ArgumentException($"The bias has {bias.Length} values for {n} outputs.", nameof(bias));
        if (!Vector256.IsHardwareAccelerated)
        {
            for (int j = 0; j < n; j++) values[j] = TFunction.Value(hasBias ? values[j] + bias[j] : values[j]);
            return;
        }

        int width = Vector512<float>.Count;
        if (n < width)
        {
            Span<float> padded = stackalloc float[width];
            padded.Clear();
            values.CopyTo(padded);
            if (hasBias)
                for (int j = 0; j < n; j++) padded[j] += bias[j];
            TFunction.Value(Vector512.Create<float>(padded)).CopyTo(padded);
            padded[..n].CopyTo(values);
            return;
        }

        ref float v = ref MemoryMarshal.GetReference(values);
        ref float b = ref MemoryMarshal.GetReference(bias);
        nuint last = (nuint)(n - width);
        var lastInput = Vector512.LoadUnsafe(ref v, last);
        if (hasBias) lastInput += Vector512.LoadUnsafe(ref b, last);
        nuint i = 0;
        for (; i < last; i += (nuint)width)
        {
            var x = Vector512.LoadUnsafe(ref v, i);
            if (hasBias) x += Vector512.LoadUnsafe(ref b, i);
            TFunction.Value(x).StoreUnsafe(ref v, i);
        }

        TFunction.Value(lastInput).StoreUnsafe(ref v, last);
    }
}

/// <summary>exp(x) (<see cref="VectorLogSpace.Exp"/>).</summary>
internal readonly struct ExpFunction : IVectorFunction
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Value(Vector512<float> x) => VectorLogSpace.Exp(x);

    public static float Value(float x) => MathF.Exp(x);
}
