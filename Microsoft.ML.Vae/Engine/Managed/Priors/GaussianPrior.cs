using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.Managed.Priors;

/// <summary>
/// The prior p(z) of Gaussian latents: a <see cref="DiagonalGaussianMixture"/> for the current parameters, rebuilt by
/// <see cref="Update"/> whenever they change (a training call, never concurrent with scoring), and the loss gradient
/// with respect to the prior's own parameters. Scoring calls share one instance and only read <see cref="Mixture"/>.
/// </summary>
internal abstract class GaussianPrior
{
    public static GaussianPrior Create(ParameterLayout layout, float[] parameters, int threads) => layout.Prior switch
    {
        PriorKind.LearnedGaussian => new LearnedGaussianPrior(layout, parameters),
        PriorKind.Vamp => new VampPrior(layout, parameters, threads),
        _ => new StandardNormalPrior(layout.LatentSize),
    };

    /// <summary>The mixture for the parameters as of the last <see cref="Update"/>; immutable, so callers may keep it for a call.</summary>
    public abstract DiagonalGaussianMixture Mixture { get; }

    /// <summary>Whether the prior has parameters, so its backward pass needs the responsibilities of the samples.</summary>
    public abstract bool HasParameters { get; }

    /// <summary>Rebuilds <see cref="Mixture"/> after the parameters changed.</summary>
    public abstract void Update();

    /// <summary>
    /// Adds Σ_s weight_s·∂log p(z_s)/∂λ to <paramref name="gradient"/> for the points <c>[sampleRows, latent]</c> and
    /// their responsibilities <c>[sampleRows, components]</c> under <see cref="Mixture"/>.
    /// </summary>
    public abstract void Backward(float[] points, float[] responsibilities, float[] weights, int sampleRows, float[] gradient);
}
