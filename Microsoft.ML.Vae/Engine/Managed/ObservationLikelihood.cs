using System.Numerics.Tensors;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.Managed;

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

    /// <summary>Returns log p(x|o); writes ∂log p/∂o into <paramref name="gradient"/> (may be empty to skip it).</summary>
    public float LogProbability(ReadOnlySpan<float> x, ReadOnlySpan<float> output, Span<float> gradient, Span<float> scratch)
    {
        scratch = scratch[..output.Length];
        if (_decoder == DecoderKind.Bernoulli)
        {
            // Σ x·o − softplus(o), softplus(o) = max(o, 0) + log(1 + e^−|o|); gradient x − σ(o).
            TensorPrimitives.Abs(output, scratch);
            TensorPrimitives.Negate(scratch, scratch);
            TensorPrimitives.Exp(scratch, scratch);
            TensorPrimitives.LogP1(scratch, scratch);
            float softplus = TensorPrimitives.Sum(scratch);
            TensorPrimitives.Max(output, 0f, scratch);
            softplus += TensorPrimitives.Sum(scratch);
            if (!gradient.IsEmpty)
            {
                TensorPrimitives.Sigmoid(output, gradient);
                TensorPrimitives.Subtract(x, gradient, gradient);
            }
            return TensorPrimitives.Dot(x, output) - softplus;
        }

        // −½ Σ (x − o)²/σ² + constant; gradient (x − o)/σ².
        var diff = gradient.IsEmpty ? scratch : gradient;
        TensorPrimitives.Subtract(x, output, diff);
        TensorPrimitives.Multiply(diff, diff, scratch);
        float quadratic = TensorPrimitives.Dot(scratch, _inverseVariance);
        if (!gradient.IsEmpty) TensorPrimitives.Multiply(diff, _inverseVariance, gradient);
        return _gaussianConstant - 0.5f * quadratic;
    }

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
