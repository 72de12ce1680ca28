namespace Microsoft.ML.Vae.Engine.Managed.Likelihoods;

/// <summary>
/// log p(x|z) of every sample of one call under an <see cref="ObservationLikelihood"/>, and its gradient with respect
/// to the decoder output; owns the per-sample values and the workers' scratch.
/// </summary>
internal sealed class ReconstructionTerm(int features, int threads)
{
    private readonly WorkerScratch _scratch = new(features, threads);
    private float[] _logLikelihoods = [];
    private float[] _outputGradient = [];

    /// <summary>log p(x|z) per sample, <c>[rows·K]</c>, from the last <see cref="Evaluate"/>.</summary>
    public float[] LogLikelihoods => _logLikelihoods;

    /// <summary>
    /// log p(x_b | o_s) for the K decoder outputs of each row b (sample s = b·K + k), and ∂log p/∂o into
    /// <paramref name="outputGradient"/> (<c>[rows·K, features]</c>) when it is not null.
    /// </summary>
    public void Evaluate(ObservationLikelihood likelihood, float[] x, float[] output, int rows, int sampleCount, float[]? outputGradient)
    {
        int f = features, k = sampleCount, sampleRows = rows * k;
        Buffers.Ensure(ref _logLikelihoods, sampleRows);
        _outputGradient = outputGradient ?? [];
        float[] logLikelihoods = _logLikelihoods;
        var scratchBuffers = _scratch;
        RowRanges.For(threads, sampleRows, (worker, start, end) =>
        {
            var scratch = scratchBuffers.For(worker);
            for (int s = start; s < end; s++)
            {
                var gradient = outputGradient is not null ? outputGradient.AsSpan(s * f, f) : Span<float>.Empty;
                logLikelihoods[s] = likelihood.LogProbability(x.AsSpan(s / k * f, f), output.AsSpan(s * f, f), gradient, scratch);
            }
        });
    }

    /// <summary>
    /// Learned Gaussian variance: adds Σ_s weight_s·∂log p(x|o_s)/∂log σ² into <paramref name="target"/>, from the
    /// output gradient of the last <see cref="Evaluate"/>.
    /// </summary>
    public void AccumulateLogVarianceGradient(ObservationLikelihood likelihood, float[] weights, int sampleRows, Span<float> target)
    {
        int f = features;
        var scratch = _scratch.For(0);
        // Sequential in row order: the sum must not depend on scheduling.
        for (int s = 0; s < sampleRows; s++)
            likelihood.AccumulateLogVarianceGradient(_outputGradient.AsSpan(s * f, f), weights[s], target, scratch);
    }
}
