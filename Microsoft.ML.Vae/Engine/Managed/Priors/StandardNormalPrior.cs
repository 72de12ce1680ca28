namespace Microsoft.ML.Vae.Engine.Managed.Priors;

/// <summary>p(z) = N(0, I): no parameters.</summary>
internal sealed class StandardNormalPrior(int latentSize) : GaussianPrior
{
    public override DiagonalGaussianMixture Mixture { get; } = DiagonalGaussianMixture.StandardNormal(latentSize);

    public override bool HasParameters => false;

    public override void Update() { }

    public override void Backward(float[] points, float[] responsibilities, float[] weights, int sampleRows, float[] gradient) { }
}
