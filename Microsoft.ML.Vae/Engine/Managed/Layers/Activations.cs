using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Engine.Managed.Layers;

/// <summary>
/// Hidden-layer non-linearities, applied in place, with derivatives written in terms of the outputs, on the engine's
/// own 16-lane kernels (<see cref="VectorElementwise"/>): every element gets the same lanes wherever it sits in a span,
/// so a fused epilogue and a separate pass agree to the bit.
/// </summary>
internal static class Activations
{
    public static void Apply(Activation activation, Span<float> values) => Apply(activation, values, []);

    /// <summary>values = f(values + bias) elementwise; <paramref name="bias"/> is empty or as long as the values.</summary>
    public static void Apply(Activation activation, Span<float> values, ReadOnlySpan<float> bias)
    {
        switch (activation)
        {
            case Activation.Tanh: VectorElementwise.Map<TanhFunction>(values, bias); break;
            case Activation.Relu: VectorElementwise.Map<ReluFunction>(values, bias); break;
            case Activation.Softplus: VectorElementwise.Map<SoftplusFunction>(values, bias); break;
            case Activation.Identity: if (!bias.IsEmpty) VectorElementwise.Map<IdentityFunction>(values, bias); break;
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

    /// <summary>An activation and its derivative from its output; the scalar form serves CPUs without 256-bit SIMD.</summary>
    private interface IActivationFunction : IVectorFunction
    {
        static abstract Vector512<float> DerivativeFromOutput(Vector512<float> y);

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
