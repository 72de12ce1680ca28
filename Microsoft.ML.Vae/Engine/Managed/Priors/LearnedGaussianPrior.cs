using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.Managed.Priors;

/// <summary>p(z) = N(m, diag exp(v)) with m and v among the model's parameters.</summary>
internal sealed class LearnedGaussianPrior : GaussianPrior
{
    private readonly float[] _parameters;
    private readonly ParameterTensor _mean;
    private readonly ParameterTensor _logVariance;
    private readonly int _latent;
    private DiagonalGaussianMixture _mixture;

    public LearnedGaussianPrior(ParameterLayout layout, float[] parameters)
    {
        _parameters = parameters;
        _mean = layout.PriorMean!.Value;
        _logVariance = layout.PriorLogVariance!.Value;
        _latent = layout.LatentSize;
        _mixture = Build();
    }

    public override DiagonalGaussianMixture Mixture => _mixture;

    public override bool HasParameters => true;

    public override void Update() => _mixture = Build();

    /// <summary>Straight into the mean and log-variance parameters.</summary>
    public override void Backward(float[] points, float[] responsibilities, float[] weights, int sampleRows, float[] gradient) =>
        _mixture.AccumulateComponentGradients(points.AsSpan(0, sampleRows * _latent), responsibilities.AsSpan(0, sampleRows),
            weights.AsSpan(0, sampleRows), 0, 1,
            gradient.AsSpan(_mean.Offset, _mean.Length), gradient.AsSpan(_logVariance.Offset, _logVariance.Length));

    private DiagonalGaussianMixture Build() => new(
        _parameters.AsSpan(_mean.Offset, _mean.Length).ToArray(), _parameters.AsSpan(_logVariance.Offset, _logVariance.Length), 1, _latent);
}
