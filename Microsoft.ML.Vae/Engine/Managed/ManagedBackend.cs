using System.Collections.Concurrent;
using Microsoft.ML.Vae.Engine.Managed.Layers;
using Microsoft.ML.Vae.Engine.Managed.Likelihoods;
using Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;
using Microsoft.ML.Vae.Engine.Managed.Priors;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>
/// The default engine, in C#: holds the parameters, the optimiser and the components shared by every call (the
/// prior, the observation likelihood), and lends each call a <see cref="ModelPass"/> with its own buffers, so
/// scoring calls run concurrently. Matrix products are in <see cref="Gemm"/>; per-row work is split over contiguous
/// row ranges (<see cref="RowRanges"/>), so results depend on the thread count only.
/// </summary>
internal sealed class ManagedBackend : IVaeBackend
{
    private readonly float[] _parameters;
    private readonly float[] _gradient;
    private bool _gradientIsZero = true;  // Adam leaves it so, which spares the next step a serial 1.7 MB clear
    private readonly AdamOptimizer _adam;
    private readonly int _threads;
    private readonly GaussianPrior _prior;
    private readonly ConcurrentBag<ModelPass> _passes = [];
    private ObservationLikelihood _likelihood;
    private readonly ScoringPrecision _scoringPrecision;
    private readonly Lock _int16Lock = new();
    private Int16StackWeights? _decoderInt16;  // built by the first int16 scoring call after the parameters change

    /// <param name="layout">The model's parameter layout.</param>
    /// <param name="threads">Threads of the GEMM, the per-row work and the optimizer.</param>
    /// <param name="note">Why this engine runs instead of the one asked for (a fallback), shown in <see cref="Name"/>.</param>
    /// <param name="scoringPrecision">The arithmetic of the decoder in <see cref="LogWeights"/>.</param>
    public ManagedBackend(ParameterLayout layout, int threads, string? note = null, ScoringPrecision scoringPrecision = ScoringPrecision.Float32)
    {
        if (scoringPrecision == ScoringPrecision.Int16 && Int16Gemm.Width == GemmVectorWidth.Scalar)
            throw new PlatformNotSupportedException("ScoringPrecision.Int16 needs an x64 CPU with AVX2 or AVX-512, and this one has neither: score with ScoringPrecision.Float32.");
        _scoringPrecision = scoringPrecision;
        Name = note is null ? "managed" : $"managed ({note})";
        if (scoringPrecision != ScoringPrecision.Float32) Name += $", {scoringPrecision} scoring";
        Layout = layout;
        _threads = Math.Max(1, threads);
        _parameters = new float[layout.Count];
        _gradient = new float[layout.Count];
        _adam = new AdamOptimizer(layout.Count, _threads);
        _likelihood = new ObservationLikelihood(layout, _parameters);
        _prior = GaussianPrior.Create(layout, _parameters, _threads);
    }

    public string Name { get; }

    public ParameterLayout Layout { get; }

    private bool Categorical => Layout.Latent == LatentKind.Categorical;

    /// <summary>The prior of Gaussian latents for the current parameters (the ONNX export stores its components).</summary>
    internal DiagonalGaussianMixture PriorMixture => _prior.Mixture;

    public void SetParameters(ReadOnlySpan<float> parameters)
    {
        if (parameters.Length != _parameters.Length)
            throw new ArgumentException($"Expected {_parameters.Length} parameters, got {parameters.Length}.", nameof(parameters));
        parameters.CopyTo(_parameters);
        _adam.Reset();
        ParametersChanged();
    }

    public void GetParameters(Span<float> parameters) => _parameters.CopyTo(parameters);

    public void Gradient(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        Span<float> rowBounds, Span<float> gradient)
    {
        ComputeGradient(x, rows, noise, sampleCount, objective, rowBounds);
        _gradient.CopyTo(gradient);
    }

    public void TrainStep(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        in AdamSettings adam, Span<float> rowBounds)
    {
        ComputeGradient(x, rows, noise, sampleCount, objective, rowBounds);
        _adam.Step(_parameters, _gradient, adam);
        _gradientIsZero = true;
        ParametersChanged();
    }

    public void Encode(ReadOnlySpan<float> x, int rows, Span<float> mean, Span<float> logVariance)
    {
        var pass = Rent();
        try { pass.Encode(x, rows, mean, logVariance); }
        finally { _passes.Add(pass); }
    }

    public void LogWeights(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, Span<float> logWeights)
    {
        var pass = Rent();
        try { pass.LogWeights(x, rows, noise, sampleCount, _likelihood, logWeights, DecoderInt16()); }
        finally { _passes.Add(pass); }
    }

    public void Decode(ReadOnlySpan<float> z, int rows, Span<float> output)
    {
        var pass = Rent();
        try { pass.Decode(z, rows, _likelihood, output); }
        finally { _passes.Add(pass); }
    }

    /// <summary>log p(z) of latent rows <c>[rows, latent]</c> under the prior the log weights use (Gaussian latents).</summary>
    internal void LogPrior(ReadOnlySpan<float> z, int rows, Span<float> logDensity)
    {
        var mixture = _prior.Mixture;
        int d = Layout.LatentSize;
        var responsibilities = new float[mixture.Components];
        for (int r = 0; r < rows; r++) logDensity[r] = mixture.LogDensity(z.Slice(r * d, d), responsibilities, Span<float>.Empty, Span<float>.Empty);
    }

    public void Dispose() { }

    private ModelPass Rent() => _passes.TryTake(out var pass) ? pass : new ModelPass(Layout, _parameters, _prior, _threads);

    /// <summary>The decoder's int16 weights when scoring in int16, quantised on first use after the parameters change.</summary>
    private Int16StackWeights? DecoderInt16()
    {
        if (_scoringPrecision != ScoringPrecision.Int16) return null;
        lock (_int16Lock)
            return _decoderInt16 ??= new Int16StackWeights(Layout.DecoderHidden, [Layout.DecoderOutput], _parameters, Int16Gemm.Width);
    }

    /// <summary>Rebuilds what is derived from the parameters; training calls only, so never during a scoring call.</summary>
    private void ParametersChanged()
    {
        _decoderInt16 = null;
        if (Layout.DecoderLogVariance is not null) _likelihood = new ObservationLikelihood(Layout, _parameters);
        _prior.Update();
    }

    /// <summary>The loss gradient into <see cref="_gradient"/> and the per-row bounds.</summary>
    private void ComputeGradient(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        Span<float> rowBounds)
    {
        CheckObjective(objective, sampleCount);
        var pass = Rent();
        bool gradientIsZero = _gradientIsZero;
        _gradientIsZero = false;
        try { pass.Gradient(x, rows, noise, sampleCount, objective, _likelihood, rowBounds, _gradient, gradientIsZero); }
        finally { _passes.Add(pass); }
    }

    /// <summary>Rejects settings this engine cannot honour, naming the option.</summary>
    private void CheckObjective(in ObjectiveSettings objective, int sampleCount)
    {
        int groups = objective.Objective is TrainingObjective.Miwae or TrainingObjective.Piwae ? objective.Groups : 1;
        if (groups < 1 || sampleCount % groups != 0)
            throw new ArgumentException($"ObjectiveGroups {objective.Groups} must divide SampleCount {sampleCount}.", nameof(objective));
        if (objective.AnalyticKl && (objective.Objective != TrainingObjective.Iwae || objective.Estimator != GradientEstimator.Reparameterization || Layout.Prior != PriorKind.Standard))
            throw new ArgumentException("AnalyticKl needs the IWAE objective, the reparameterisation estimator and the standard prior.", nameof(objective));
        if (Categorical && objective.Estimator is GradientEstimator.StickingTheLanding or GradientEstimator.DoublyReparameterized)
            throw new ArgumentException($"GradientEstimator {objective.Estimator} needs Gaussian latents.", nameof(objective));
        if (Categorical && objective.Estimator == GradientEstimator.Reparameterization && !objective.AnalyticKl)
            throw new ArgumentException("Categorical latents with the Gumbel-Softmax relaxation need AnalyticKl.", nameof(objective));
        if (Categorical && !(objective.Temperature > 0))
            throw new ArgumentException($"The Gumbel-Softmax temperature must be positive (got {objective.Temperature}).", nameof(objective));
    }
}
