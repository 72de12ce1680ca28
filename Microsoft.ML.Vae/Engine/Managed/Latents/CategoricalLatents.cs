using System.Numerics.Tensors;
using Microsoft.ML.Vae.Engine.Managed.Layers;
using Microsoft.ML.Vae.Engine.Managed.Objectives;

namespace Microsoft.ML.Vae.Engine.Managed.Latents;

/// <summary>
/// Categorical q(h|x) from the encoder's logits head (<see cref="GumbelSoftmax"/>): hard and relaxed samples, the
/// uniform prior p(h) = C^−G, and the relaxed-path, score and KL terms of the backward pass.
/// </summary>
internal sealed class CategoricalLatents : ILatentFamily
{
    private readonly int _latent;
    private readonly int _categories;
    private readonly float _logPrior;
    private readonly int _threads;
    private readonly WorkerScratch _scratch;
    private float[] _noise = [];            // uniform draws, [rows·K, latent]
    private float[] _logProbabilities = []; // log π, [rows, latent]
    private float[] _hard = [];             // one-hot samples, [rows·K, latent]
    private float[] _relaxed = [];          // Gumbel-Softmax samples, [rows·K, latent]
    private float[] _samples = [];          // what the decoder sees, [rows·K, latent]
    private float[] _logPosterior = [];     // log q(h|x) per sample
    private int _rows, _sampleCount;

    public CategoricalLatents(int latentSize, int categories, int variables, int threads)
    {
        _latent = latentSize;
        _categories = categories;
        _logPrior = -variables * MathF.Log(categories);
        _threads = threads;
        _scratch = new WorkerScratch(latentSize, threads);
    }

    public float[] Samples => _samples;

    /// <summary>Gumbel-max (and Gumbel-Softmax) samples and log q of the hard ones.</summary>
    public void Sample(DenseStack encoder, ReadOnlySpan<float> noise, int rows, int sampleCount, LatentSampling sampling, float temperature)
    {
        int d = _latent, k = sampleCount, categories = _categories, sampleRows = rows * k;
        _rows = rows;
        _sampleCount = k;
        Buffers.CopyTo(noise, ref _noise);
        Buffers.Ensure(ref _samples, sampleRows * d);
        Buffers.Ensure(ref _logPosterior, sampleRows);
        Buffers.Ensure(ref _logProbabilities, rows * d);
        Buffers.Ensure(ref _hard, sampleRows * d);
        bool relax = sampling != LatentSampling.Hard;
        if (relax) Buffers.Ensure(ref _relaxed, sampleRows * d);
        GumbelSoftmax.LogProbabilities(encoder.Output(0).AsSpan(0, rows * d), categories, _logProbabilities);
        float[] uniforms = _noise, logProbabilities = _logProbabilities, hardSamples = _hard, relaxedSamples = _relaxed, z = _samples, logQ = _logPosterior;
        RowRanges.For(_threads, sampleRows, (_, start, end) =>
        {
            for (int s = start; s < end; s++)
            {
                var hard = hardSamples.AsSpan(s * d, d);
                var relaxed = relax ? relaxedSamples.AsSpan(s * d, d) : Span<float>.Empty;
                logQ[s] = GumbelSoftmax.Sample(logProbabilities.AsSpan(s / k * d, d), uniforms.AsSpan(s * d, d), categories, temperature, hard, relaxed);
                (sampling == LatentSampling.Relaxed ? relaxed : hard).CopyTo(z.AsSpan(s * d, d));
            }
        });
    }

    public void LogWeights(float[] logLikelihoods, float[] logWeights, bool needGradient)
    {
        for (int s = 0; s < _rows * _sampleCount; s++) logWeights[s] = logLikelihoods[s] + _logPrior - _logPosterior[s];
    }

    public double AnalyticKl(int row) =>
        GumbelSoftmax.KlToUniform(_logProbabilities.AsSpan(row * _latent, _latent), _categories, 0f, Span<float>.Empty);

    /// <summary>∂loss/∂logits: through the relaxed samples, the score terms and the closed-form KL (the uniform prior has no parameters).</summary>
    public void Backward(DenseStack encoder, ObjectiveWeights weights, float[] latentGradient, in ObjectiveSettings objective,
        float gradientScale, float[] gradient)
    {
        int d = _latent, k = _sampleCount, categories = _categories;
        float[] logitGradients = encoder.OutputGradient(0);
        bool analytic = objective.AnalyticKl;
        float temperature = objective.Temperature;
        float[] pathWeights = weights.Path, scoreWeights = weights.Score, allLogProbabilities = _logProbabilities, relaxed = _relaxed, hard = _hard;
        var scratchBuffers = _scratch;
        RowRanges.For(_threads, _rows, (worker, start, end) =>
        {
            var scratch = scratchBuffers.For(worker)[..d];
            for (int b = start; b < end; b++)
            {
                var logitGradient = logitGradients.AsSpan(b * d, d);
                var logProbabilities = allLogProbabilities.AsSpan(b * d, d);
                logitGradient.Clear();
                for (int s = b * k; s < (b + 1) * k; s++)
                {
                    float path = pathWeights[s];
                    if (path != 0)
                    {
                        TensorPrimitives.Multiply(latentGradient.AsSpan(s * d, d), path, scratch);
                        GumbelSoftmax.AccumulateRelaxedGradient(relaxed.AsSpan(s * d, d), scratch, categories, temperature, logitGradient);
                    }
                    float score = scoreWeights[s];
                    if (score != 0) GumbelSoftmax.AccumulateScore(logProbabilities, hard.AsSpan(s * d, d), score, logitGradient);
                }
                if (analytic) GumbelSoftmax.KlToUniform(logProbabilities, categories, gradientScale, logitGradient);
            }
        });
    }

    /// <summary>The class probabilities π and log(π(1 − π)).</summary>
    public void Moments(DenseStack encoder, int rows, Span<float> mean, Span<float> logVariance)
    {
        int n = rows * _latent;
        Buffers.Ensure(ref _logProbabilities, n);
        GumbelSoftmax.LogProbabilities(encoder.Output(0).AsSpan(0, n), _categories, _logProbabilities);
        GumbelSoftmax.Moments(_logProbabilities.AsSpan(0, n), _categories, mean, logVariance, _scratch.For(0));
    }
}
