using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Engine.Managed.Layers;

/// <summary>
/// Hidden-layer non-linearities, applied in place, with derivatives written in terms of the outputs.
/// The engine's own 16-lane kernels (not TensorPrimitives): every element gets the same lanes wherever it sits in a
/// span, so a fused epilogue and a separate pass agree to the bit, and the code is JIT-compiled with the engine instead
/// of running the framework's precompiled generic paths until they tier up.
/// </summary>
internal static class Activations
{
    public static void Apply(Activation activation, Span<float> values) => Apply(activation, values, []);

    /// <summary>values = f(values + bias) elementwise; <paramref name="bias"/> is empty or as long as the values.</summary>
    public static void Apply(Activation activation, Span<float> values, ReadOnlySpan<float> bias)
    {
        switch (activation)
        {
            case Activation.Tanh: Map<TanhFunction>(values, bias); break;
            case Activation.Relu: Map<ReluFunction>(values, bias); break;
            case Activation.Softplus: Map<SoftplusFunction>(values, bias); break;
            case Activation.Identity: if (!bias.IsEmpty) Map<IdentityFunction>(values, bias); break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    /// <summary>
    /// gradient ⊙= f'(pre-activation), with f' recovered from the output y = f(pre): tanh 1 − y², relu [y &gt; 0],
    /// softplus 1 − exp(−y) (the sigmoid of the pre-activation). Keeping outputs only halves the stored activations.
    /// </summary>
    public static void MultiplyByDerivative(Activation activation, ReadOnlySpan<float> outputs, Span<float> gradient)
    {
        switch (activation)
        {
            case Activation.Tanh: MultiplyBy<TanhFunction>(outputs, gradient); break;
            case Activation.Relu: MultiplyBy<ReluFunction>(outputs, gradient); break;
            case Activation.Softplus: MultiplyBy<SoftplusFunction>(outputs, gradient); break;
            case Activation.Identity: break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    /// <summary>An activation on 16 lanes and its derivative from its output; the scalar forms serve CPUs without 256-bit SIMD.</summary>
    private interface IActivationFunction
    {
        static abstract Vector512<float> Value(Vector512<float> x);

        static abstract Vector512<float> DerivativeFromOutput(Vector512<float> y);

        static abstract float Value(float x);

        static abstract float DerivativeFromOutput(float y);
    }

    private readonly struct TanhFunction : IActivationFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Value(Vector512<float> x) => VectorTanh.Evaluate(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> DerivativeFromOutput(Vector512<float> y) => Vector512<float>.One - y * y;

        public static float Value(float x) => MathF.Tanh(x);

        public static float DerivativeFromOutput(float y) => 1 - y * y;
    }

    private readonly struct ReluFunction : IActivationFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Value(Vector512<float> x) => Vector512.Max(x, Vector512<float>.Zero);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> DerivativeFromOutput(Vector512<float> y)
            => Vector512.ConditionalSelect(Vector512.GreaterThan(y, Vector512<float>.Zero), Vector512<float>.One, Vector512<float>.Zero);

        public static float Value(float x) => MathF.Max(x, 0);

        public static float DerivativeFromOutput(float y) => y > 0 ? 1 : 0;
    }

    /// <summary>softplus(x) = max(x, 0) + log(1 + exp(−|x|)); its derivative σ(x) = 1 − exp(−y).</summary>
    private readonly struct SoftplusFunction : IActivationFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Value(Vector512<float> x)
            => Vector512.Max(x, Vector512<float>.Zero) + VectorLogSpace.Log1PUnit(VectorLogSpace.ExpNonPositive(-Vector512.Abs(x)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> DerivativeFromOutput(Vector512<float> y) => Vector512<float>.One - VectorLogSpace.ExpNonPositive(-y);

        public static float Value(float x) => LogSpace.Softplus(x);

        public static float DerivativeFromOutput(float y) => 1 - MathF.Exp(-y);
    }

    private readonly struct IdentityFunction : IActivationFunction
    {
        public static Vector512<float> Value(Vector512<float> x) => x;

        public static Vector512<float> DerivativeFromOutput(Vector512<float> y) => Vector512<float>.One;

        public static float Value(float x) => x;

        public static float DerivativeFromOutput(float y) => 1;
    }

    /// <summary>
    /// values = F(values + bias). A ragged end is done as one more vector over the last 16 elements, loaded before the
    /// loop overwrites them, so every element gets the lanes it would get anywhere else; spans under 16 go through a
    /// zero-padded vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Map<TFunction>(Span<float> values, ReadOnlySpan<float> bias) where TFunction : IActivationFunction
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

    /// <summary>gradient ⊙= F'(outputs); the ragged end goes through a zero-padded vector, so it gets the vector's result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyBy<TFunction>(ReadOnlySpan<float> outputs, Span<float> gradient) where TFunction : IActivationFunction
    {
        int n = gradient.Length, width = Vector512<float>.Count, j = 0;
        if (outputs.Length != n) throw new ArgumentException($"{outputs.Length} outputs for {n} gradient values.", nameof(outputs));
        if (!Vector256.IsHardwareAccelerated)
        {
            for (; j < n; j++) gradient[j] *= TFunction.DerivativeFromOutput(outputs[j]);
            return;
        }

        ref float y = ref MemoryMarshal.GetReference(outputs);
        ref float g = ref MemoryMarshal.GetReference(gradient);
        for (; j <= n - width; j += width)
            (Vector512.LoadUnsafe(ref g, (nuint)j) * TFunction.DerivativeFromOutput(Vector512.LoadUnsafe(ref y, (nuint)j))).StoreUnsafe(ref g, (nuint)j);
        if (j == n) return;
        Span<float> padded = stackalloc float[width];
        padded.Clear();
        outputs[j..].CopyTo(padded);
        TFunction.DerivativeFromOutput(Vector512.Create<float>(padded)).CopyTo(padded);
        for (int t = 0; j < n; j++, t++) gradient[j] *= padded[t];
    }
}
