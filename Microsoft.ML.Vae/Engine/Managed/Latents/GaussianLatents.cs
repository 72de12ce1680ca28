using System.Numerics.Tensors;
using Microsoft.ML.Vae.Engine.Managed.Layers;
using Microsoft.ML.Vae.Engine.Managed.Objectives;
using Microsoft.ML.Vae.Engine.Managed.Priors;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Engine.Managed.Latents;

/// <summary>
/// Diagonal Gaussian q(z|x) = N(μ, diag σ²) from the encoder's mean and log-variance heads: z = μ + σ·ε, log q, the
/// prior's log density at z, and the path, score, entropy and KL terms of the backward pass.
/// </summary>
internal sealed class GaussianLatents : ILatentFamily
{
    private readonly int _latent;
    private readonly int _threads;
    private readonly GaussianPrior _prior;
    private readonly WorkerScratch _scratch;
    private float[] _noise = [];            // ε, [rows·K, latent]
    private float[] _sigma = [];            // [rows, latent]
    private float[] _samples = [];          // z, [rows·K, latent]
    private float[] _logPosterior = [];     // log q(z|x) per sample
    private float[] _responsibilities = []; // p(c | z) of the prior's mixture components, [rows·K, components]
    private float[] _priorGradient = [];    // ∇_z log p(z), [rows·K, latent]
    private float[] _mean = [], _logVariance = [];
    private int _rows, _sampleCount;

    public GaussianLatents(int latentSize, GaussianPrior prior, int threads)
    {
        _latent = latentSize;
        _prior = prior;
        _threads = threads;
        // Backward needs a latent row per worker, the prior's log density one value per component.
        _scratch = new WorkerScratch(Math.Max(latentSize, prior.Mixture.Components), threads);
    }

    public float[] Samples => _samples;

    public void Sample(DenseStack encoder, ReadOnlySpan<float> noise, int rows, int sampleCount, LatentSampling sampling, float temperature)
    {
        int d = _latent, k = sampleCount, sampleRows = rows * k;
        _rows = rows;
        _sampleCount = k;
        _mean = encoder.Output(0);
        _logVariance = encoder.Output(1);
        Buffers.CopyTo(noise, ref _noise);
        Buffers.Ensure(ref _samples, sampleRows * d);
        Buffers.Ensure(ref _logPosterior, sampleRows);
        Buffers.Ensure(ref _sigma, rows * d);
        float[] mean = _mean, logVariance = _logVariance, sigmas = _sigma, eps = _noise, z = _samples, logQ = _logPosterior;
        float latentConstant = d * LogSpace.LogTwoPi;
        RowRanges.For(_threads, rows, (_, start, end) =>
        {
            for (int b = start; b < end; b++)
            {
                var sigma = sigmas.AsSpan(b * d, d);
                TensorPrimitives.Multiply(logVariance.AsSpan(b * d, d), 0.5f, sigma);
                VectorElementwise.Map<ExpFunction>(sigma);
                var rowMean = mean.AsSpan(b * d, d);
                float logVarianceSum = TensorPrimitives.Sum(logVariance.AsSpan(b * d, d));
                for (int s = b * k; s < (b + 1) * k; s++)
                {
                    var sampleNoise = eps.AsSpan(s * d, d);
                    TensorPrimitives.FusedMultiplyAdd(sampleNoise, sigma, rowMean, z.AsSpan(s * d, d));
                    logQ[s] = -0.5f * (TensorPrimitives.SumOfSquares(sampleNoise) + logVarianceSum + latentConstant);
                }
            }
        });
    }

    /// <inheritdoc/>
    /// <remarks>With a gradient, keeps ∇_z log p(z) and, for a prior with parameters, its responsibilities.</remarks>
    public void LogWeights(float[] logLikelihoods, float[] logWeights, bool needGradient)
    {
        int d = _latent, sampleRows = _rows * _sampleCount;
        var prior = _prior.Mixture;
        int components = prior.Components;
        bool keepResponsibilities = needGradient && _prior.HasParameters;
        if (keepResponsibilities || components > 1) Buffers.Ensure(ref _responsibilities, sampleRows * components);
        if (needGradient) Buffers.Ensure(ref _priorGradient, sampleRows * d);
        float[] responsibilityBuffer = _responsibilities, priorGradient = _priorGradient, z = _samples, logQ = _logPosterior;
        var scratchBuffers = _scratch;
        RowRanges.For(_threads, sampleRows, (worker, start, end) =>
        {
            var scratch = scratchBuffers.For(worker);
            for (int s = start; s < end; s++)
            {
                var responsibilities = keepResponsibilities || components > 1 ? responsibilityBuffer.AsSpan(s * components, components) : Span<float>.Empty;
                var zGradient = needGradient ? priorGradient.AsSpan(s * d, d) : Span<float>.Empty;
                float logPz = prior.LogDensity(z.AsSpan(s * d, d), responsibilities, zGradient, scratch);
                logWeights[s] = logLikelihoods[s] + logPz - logQ[s];
            }
        });
    }

    /// <summary>KL(N(μ, σ²) || N(0, I)) = ½ Σ_d (μ² + σ² − 1 − log σ²).</summary>
    public double AnalyticKl(int row)
    {
        int d = _latent;
        var mean = _mean.AsSpan(row * d, d);
        var logVariance = _logVariance.AsSpan(row * d, d);
        double kl = 0;
        for (int j = 0; j < d; j++) kl += 0.5 * (mean[j] * mean[j] + Math.Exp(logVariance[j]) - 1 - logVariance[j]);
        return kl;
    }

    /// <summary>
    /// ∂loss/∂μ and ∂loss/∂log σ²: the path derivative through z = μ + σ·ε (dz/dμ = 1, dz/d log σ² = ½σε), the score
    /// terms, and the closed-form KL; then the prior's own gradient.
    /// </summary>
    public void Backward(DenseStack encoder, ObjectiveWeights weights, float[] latentGradient, in ObjectiveSettings objective,
        float gradientScale, float[] gradient)
    {
        int d = _latent, k = _sampleCount;
        float[] meanGradients = encoder.OutputGradient(0), logVarianceGradients = encoder.OutputGradient(1);
        bool analytic = objective.AnalyticKl;
        bool stopPosterior = GradientEstimators.StopsPosteriorGradient(objective.Estimator);
        // The plain trick differentiates −log q(z(ε)) = ½ Σ (ε² + log σ² + log 2π) in full: +½ per log σ², nothing for μ.
        bool entropy = !analytic && objective.Estimator == GradientEstimator.Reparameterization;
        float[] pathWeights = weights.Path, scoreWeights = weights.Score, priorGradient = _priorGradient;
        float[] noise = _noise, sigmas = _sigma, means = _mean, logVariances = _logVariance;
        var scratchBuffers = _scratch;
        RowRanges.For(_threads, _rows, (worker, start, end) =>
        {
            var scratch = scratchBuffers.For(worker)[..d];
            for (int b = start; b < end; b++)
            {
                var meanGradient = meanGradients.AsSpan(b * d, d);
                var logVarianceGradient = logVarianceGradients.AsSpan(b * d, d);
                var sigma = sigmas.AsSpan(b * d, d);
                meanGradient.Clear();
                logVarianceGradient.Clear();
                float entropyWeight = 0;
                for (int s = b * k; s < (b + 1) * k; s++)
                {
                    var eps = noise.AsSpan(s * d, d);
                    float path = pathWeights[s];
                    if (path != 0)
                    {
                        // dz = path·(∇_z log p(x|z) + ∇_z log p(z) [+ ∇_z(−log q(z)) = ε/σ with q's parameters held]).
                        var dz = latentGradient.AsSpan(s * d, d);
                        if (!analytic) TensorPrimitives.Add(dz, priorGradient.AsSpan(s * d, d), dz);
                        if (stopPosterior)
                        {
                            TensorPrimitives.Divide(eps, sigma, scratch);
                            TensorPrimitives.Add(dz, scratch, dz);
                        }
                        TensorPrimitives.MultiplyAdd(dz, path, meanGradient, meanGradient);
                        TensorPrimitives.Multiply(dz, eps, scratch);
                        TensorPrimitives.Multiply(scratch, sigma, scratch);
                        TensorPrimitives.MultiplyAdd(scratch, 0.5f * path, logVarianceGradient, logVarianceGradient);
                        entropyWeight += path;
                    }
                    float score = scoreWeights[s];
                    if (score != 0)
                    {
                        // ∇_μ log q = ε/σ, ∇_{log σ²} log q = ½(ε² − 1) at fixed z.
                        TensorPrimitives.Divide(eps, sigma, scratch);
                        TensorPrimitives.MultiplyAdd(scratch, score, meanGradient, meanGradient);
                        TensorPrimitives.Multiply(eps, eps, scratch);
                        TensorPrimitives.Subtract(scratch, 1f, scratch);
                        TensorPrimitives.MultiplyAdd(scratch, 0.5f * score, logVarianceGradient, logVarianceGradient);
                    }
                }
                if (entropy) TensorPrimitives.Add(logVarianceGradient, 0.5f * entropyWeight, logVarianceGradient);
                if (analytic)
                {
                    // KL = ½ Σ (μ² + σ² − 1 − log σ²), entering the loss once per row.
                    var mean = means.AsSpan(b * d, d);
                    var logVariance = logVariances.AsSpan(b * d, d);
                    TensorPrimitives.MultiplyAdd(mean, gradientScale, meanGradient, meanGradient);
                    for (int j = 0; j < d; j++) logVarianceGradient[j] += gradientScale * 0.5f * (MathF.Exp(logVariance[j]) - 1);
                }
            }
        });
        _prior.Backward(_samples, _responsibilities, weights.Model, _rows * k, gradient);
    }

    public void Moments(DenseStack encoder, int rows, Span<float> mean, Span<float> logVariance)
    {
        int n = rows * _latent;
        encoder.Output(0).AsSpan(0, n).CopyTo(mean);
        encoder.Output(1).AsSpan(0, n).CopyTo(logVariance);
    }
}
