using Microsoft.ML.Vae.Engine.Managed.Priors;

namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>
/// The prior p(z) of Gaussian latents as a <see cref="DiagonalGaussianMixture"/> built from the current parameters,
/// and the gradient of the loss with respect to the prior's parameters.
/// </summary>
internal sealed partial class ManagedBackend
{
    private readonly object _priorLock = new();
    private long _parameterVersion;
    private PriorState? _prior;

    /// <summary>The mixture for one version of the parameters; for the VampPrior also the encoder's pass over the pseudo-inputs.</summary>
    private sealed record PriorState(long Version, DiagonalGaussianMixture Mixture, Workspace? PseudoInputPass);

    /// <summary>
    /// The prior for the current parameters, rebuilt only after they change (the VampPrior runs the encoder over its
    /// pseudo-inputs then), so concurrent scoring calls share one.
    /// </summary>
    private PriorState CurrentPrior()
    {
        long version = Interlocked.Read(ref _parameterVersion);
        var prior = Volatile.Read(ref _prior);
        if (prior is not null && prior.Version == version) return prior;
        lock (_priorLock)
        {
            prior = _prior;
            if (prior is not null && prior.Version == version) return prior;
            prior = BuildPrior(version, prior?.PseudoInputPass);
            Volatile.Write(ref _prior, prior);
            return prior;
        }
    }

    /// <summary>The prior of Gaussian latents for the current parameters (the ONNX export stores its components).</summary>
    internal DiagonalGaussianMixture PriorMixture => CurrentPrior().Mixture;

    /// <summary>log p(z) of latent rows <c>[rows, latent]</c> under the prior the log weights use (Gaussian latents).</summary>
    internal void LogPrior(ReadOnlySpan<float> z, int rows, Span<float> logDensity)
    {
        var mixture = CurrentPrior().Mixture;
        int d = Layout.LatentSize;
        var responsibilities = new float[mixture.Components];
        for (int r = 0; r < rows; r++) logDensity[r] = mixture.LogDensity(z.Slice(r * d, d), responsibilities, Span<float>.Empty, Span<float>.Empty);
    }

    private PriorState BuildPrior(long version, Workspace? pseudoInputPass)
    {
        int d = Layout.LatentSize;
        switch (Layout.Prior)
        {
            case PriorKind.LearnedGaussian:
                var mixture = new DiagonalGaussianMixture(Weights(Layout.PriorMean!.Value).ToArray(), Weights(Layout.PriorLogVariance!.Value).ToArray(), 1, d);
                return new PriorState(version, mixture, null);
            case PriorKind.Vamp:
                var pseudo = Layout.PseudoInputs!.Value;
                int components = pseudo.Rows;
                var ws = pseudoInputPass ?? new Workspace(Layout, _threads);
                EncoderForward(ws, Weights(pseudo), components);
                var means = ws.Mean.AsSpan(0, components * d).ToArray();
                var logVariances = ws.LogVariance.AsSpan(0, components * d).ToArray();
                return new PriorState(version, new DiagonalGaussianMixture(means, logVariances, components, d), ws);
            default:
                return new PriorState(version, DiagonalGaussianMixture.StandardNormal(d), null);
        }
    }

    /// <summary>
    /// Adds Σ_s model_s·∂log p(z_s)/∂λ: straight into the learned Gaussian's mean and log-variance, or for the VampPrior
    /// into its components' means and log-variances and from there back through the encoder to its weights and the
    /// pseudo-inputs.
    /// </summary>
    private void PriorBackward(Workspace ws, int sampleRows, float[] gradient)
    {
        if (Layout.Prior == PriorKind.Standard) return;
        var prior = CurrentPrior();
        var mixture = prior.Mixture;
        int d = Layout.LatentSize, components = mixture.Components;
        var points = ws.Z.AsMemory(0, sampleRows * d);
        var responsibilities = ws.Responsibilities.AsMemory(0, sampleRows * components);
        var weights = ws.SampleWeight.AsMemory(0, sampleRows);
        if (Layout.Prior == PriorKind.LearnedGaussian)
        {
            var mean = Layout.PriorMean!.Value;
            var logVariance = Layout.PriorLogVariance!.Value;
            mixture.AccumulateComponentGradients(points.Span, responsibilities.Span, weights.Span, 0, 1,
                gradient.AsSpan(mean.Offset, mean.Length), gradient.AsSpan(logVariance.Offset, logVariance.Length));
            return;
        }

        var pass = prior.PseudoInputPass!;
        Workspace.Ensure(ref pass.MeanGradient, components * d);
        Workspace.Ensure(ref pass.LogVarianceGradient, components * d);
        pass.MeanGradient.AsSpan(0, components * d).Clear();
        pass.LogVarianceGradient.AsSpan(0, components * d).Clear();
        float[] meanGradient = pass.MeanGradient, logVarianceGradient = pass.LogVarianceGradient;
        ForRows(components, (_, start, end) =>
            mixture.AccumulateComponentGradients(points.Span, responsibilities.Span, weights.Span, start, end, meanGradient, logVarianceGradient));
        var pseudo = Layout.PseudoInputs!.Value;
        EncoderBackward(pass, components, gradient, gradient.AsSpan(pseudo.Offset, pseudo.Length));
    }
}
