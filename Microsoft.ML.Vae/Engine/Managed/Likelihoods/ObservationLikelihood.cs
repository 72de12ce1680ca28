using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Numerics.Tensors;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.Managed.Likelihoods;

/// <summary>
/// log p(x|o) of one row given the decoder output o, and its gradient with respect to o, in one pass per row
/// (the fused per-sample kernel of the bound): Bernoulli with logits, or Gaussian with fixed or learned variance.
/// </summary>
internal sealed class ObservationLikelihood
{
    private readonly DecoderKind _decoder;
    private readonly float[] _inverseVariance = [];
    private readonly float[] _variance = [];
    private readonly float _gaussianConstant;

    public ObservationLikelihood(ParameterLayout layout, ReadOnlySpan<float> parameters)
    {
        _decoder = layout.Decoder;
        if (_decoder != DecoderKind.Gaussian) return;
        int features = layout.InputSize;
        _variance = new float[features];
        _inverseVariance = new float[features];
        double logVarianceSum;
        if (layout.DecoderLogVariance is { } lv)
        {
            var logVariance = parameters.Slice(lv.Offset, lv.Length);
            TensorPrimitives.Exp(logVariance, _variance);
            logVarianceSum = TensorPrimitives.Sum(logVariance);
        }
        else
        {
            _variance.AsSpan().Fill(layout.DecoderVariance);
            logVarianceSum = features * Math.Log(layout.DecoderVariance);
        }
        TensorPrimitives.Reciprocal(_variance, _inverseVariance);
        _gaussianConstant = (float)(-0.5 * (logVarianceSum + features * LogSpace.LogTwoPi));
    }

    /// <summary>Gaussian decoder: 1/σ² per feature.</summary>
    public ReadOnlySpan<float> InverseVariance => _inverseVariance;

    /// <summary>Gaussian decoder: −½ (Σ log σ² + F log 2π), the part of log p(x|o) that does not depend on x or o.</summary>
    public float GaussianConstant => _gaussianConstant;

    /// <summary>The mean of p(x|o) for decoder outputs <paramref name="output"/>: σ(o) (Bernoulli) or o (Gaussian).</summary>
    public void Mean(ReadOnlySpan<float> output, Span<float> mean)
    {
        if (_decoder == DecoderKind.Bernoulli) TensorPrimitives.Sigmoid(output, mean);
        else output.CopyTo(mean);
    }

    /// <summary>Returns log p(x|o); writes ∂log p/∂o into <paramref name="gradient"/> (may be empty to skip it).</summary>
    public float LogProbability(ReadOnlySpan<float> x, ReadOnlySpan<float> output, Span<float> gradient, Span<float> scratch)
    {
        scratch = scratch[..output.Length];
        if (_decoder == DecoderKind.Bernoulli) return BernoulliLogProbability(x, output, gradient);

        // −½ Σ (x − o)²/σ² + constant; gradient (x − o)/σ².
        var diff = gradient.IsEmpty ? scratch : gradient;
        TensorPrimitives.Subtract(x, output, diff);
        TensorPrimitives.Multiply(diff, diff, scratch);
        float quadratic = TensorPrimitives.Dot(scratch, _inverseVariance);
        if (!gradient.IsEmpty) TensorPrimitives.Multiply(diff, _inverseVariance, gradient);
        return _gaussianConstant - 0.5f * quadratic;
    }

    /// <summary>
    /// Σ x·o − softplus(o) and its gradient x − σ(o) in one pass with one exp per feature (the float forms of
    /// <see cref="VectorLogSpace"/>): with e = exp(−|o|), softplus(o) = max(o, 0) + log(1 + e) and σ(o) = 1/(1 + e)
    /// for o ≥ 0, e/(1 + e) below, which never overflows. The logs are summed as the log of a product: each lane
    /// multiplies up to <see cref="FactorsPerLog"/> factors 1 + e in [1, 2] and takes one log, a rounding error of at
    /// most 64 half-ulps (4e-6) per lane, where a log per feature took two fifths of the pass. Three separate vectorised
    /// passes cost twice as much on 784-pixel rows. The 16-lane path also runs where only 256-bit vectors are
    /// accelerated (emulated as two halves: AVX2 machines, and Intel AVX-512 ones on which .NET prefers 256 bits), with
    /// the same lanes and so the same results; the scalar remainder sums in double, so a machine without 256-bit
    /// vectors loses no accuracy either.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float BernoulliLogProbability(ReadOnlySpan<float> x, ReadOnlySpan<float> output, Span<float> gradient)
    {
        int n = output.Length, i = 0;
        bool wantGradient = !gradient.IsEmpty;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float xs = ref MemoryMarshal.GetReference(x);
            ref float os = ref MemoryMarshal.GetReference(output);
            ref float gs = ref MemoryMarshal.GetReference(gradient);
            var total = Vector512<float>.Zero;
            while (i <= n - Vector512<float>.Count)
            {
                var product = Vector512<float>.One;
                int end = Math.Min(n - Vector512<float>.Count, i + (FactorsPerLog - 1) * Vector512<float>.Count);
                for (; i <= end; i += Vector512<float>.Count)
                {
                    var o = Vector512.LoadUnsafe(ref os, (nuint)i);
                    var xv = Vector512.LoadUnsafe(ref xs, (nuint)i);
                    var e = VectorLogSpace.ExpNonPositive(-Vector512.Abs(o));
                    var onePlus = Vector512<float>.One + e;
                    total += xv * o - Vector512.Max(o, Vector512<float>.Zero);
                    product *= onePlus;
                    if (wantGradient)
                    {
                        var reciprocal = Vector512<float>.One / onePlus;
                        var sigmoid = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(o, Vector512<float>.Zero), reciprocal, e * reciprocal);
                        (xv - sigmoid).StoreUnsafe(ref gs, (nuint)i);
                    }
                }
                total -= VectorLogSpace.Log(product);
            }
            sum = Vector512.Sum(total);
        }
        double remainder = 0;
        for (; i < n; i++)
        {
            float o = output[i], e = MathF.Exp(-MathF.Abs(o)), onePlus = 1 + e;
            remainder += x[i] * o - MathF.Max(o, 0) - MathF.Log(onePlus);
            if (wantGradient) gradient[i] = x[i] - (o >= 0 ? 1 / onePlus : e / onePlus);
        }
        return (float)(sum + remainder);
    }

    /// <summary>Factors 1 + e ≤ 2 per lane before a log: their product stays below 2^64, far from float's 2^128.</summary>
    private const int FactorsPerLog = 64;

    /// <summary>
    /// Learned Gaussian variance: adds weight·∂log p/∂log σ² = weight·½((x − o)²/σ² − 1) per feature, recovered from
    /// the unscaled output gradient g = (x − o)/σ² as g²σ².
    /// </summary>
    public void AccumulateLogVarianceGradient(ReadOnlySpan<float> outputGradient, float weight, Span<float> logVarianceGradient, Span<float> scratch)
    {
        scratch = scratch[..outputGradient.Length];
        TensorPrimitives.Multiply(outputGradient, outputGradient, scratch);
        TensorPrimitives.Multiply(scratch, _variance, scratch);
        TensorPrimitives.Subtract(scratch, 1f, scratch);
        TensorPrimitives.MultiplyAdd(scratch, 0.5f * weight, logVarianceGradient, logVarianceGradient);
    }
}
