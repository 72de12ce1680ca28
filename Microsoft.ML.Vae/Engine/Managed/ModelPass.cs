using Microsoft.ML.Vae.Engine.Managed.Latents;
using Microsoft.ML.Vae.Engine.Managed.Layers;
using Microsoft.ML.Vae.Engine.Managed.Likelihoods;
using Microsoft.ML.Vae.Engine.Managed.Objectives;
using Microsoft.ML.Vae.Engine.Managed.Priors;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>
/// The components of one model with the state of one call: encoder, latent family, decoder, reconstruction term and
/// objective weights, each owning its buffers. Parameters and the prior are shared with the other passes;
/// <see cref="ManagedBackend"/> lends a pass to one call at a time.
/// </summary>
internal sealed class ModelPass
{
    private readonly ParameterLayout _layout;
    private readonly DenseStack _encoder;
    private readonly ILatentFamily _latents;
    private readonly DenseStack _decoder;
    private readonly ReconstructionTerm _reconstruction;
    private readonly ObjectiveWeights _weights = new();
    private float[] _input = []; // the caller's rows (x, or z for Decode), copied so that workers can share them

    public ModelPass(ParameterLayout layout, float[] parameters, GaussianPrior prior, int threads)
    {
        _layout = layout;
        bool categorical = layout.Latent == LatentKind.Categorical;
        DenseLayer[] encoderHeads = categorical ? [layout.EncoderMean] : [layout.EncoderMean, layout.EncoderLogVariance];
        _encoder = new DenseStack(layout.EncoderHidden, encoderHeads, layout.Activation, parameters, threads);
        _latents = categorical
            ? new CategoricalLatents(layout.LatentSize, layout.CategoryCount, layout.LatentVariables, threads)
            : new GaussianLatents(layout.LatentSize, prior, threads);
        _decoder = new DenseStack(layout.DecoderHidden, [layout.DecoderOutput], layout.Activation, parameters, threads);
        _reconstruction = new ReconstructionTerm(layout.InputSize, threads);
    }

    public void Encode(ReadOnlySpan<float> x, int rows, Span<float> mean, Span<float> logVariance)
    {
        EncoderForward(x, rows);
        _latents.Moments(_encoder, rows, mean, logVariance);
    }

    /// <summary>The log weights of <see cref="IVaeBackend.LogWeights"/>; the decoder multiplies in int16 where <paramref name="decoderInt16"/> says.</summary>
    public void LogWeights(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, ObservationLikelihood likelihood,
        Span<float> logWeights, Int16StackWeights? decoderInt16)
    {
        Forward(x, rows, noise, sampleCount, likelihood, needGradient: false, LatentSampling.Hard, temperature: 1f, decoderInt16);
        _weights.LogWeights.AsSpan(0, rows * sampleCount).CopyTo(logWeights);
    }

    public void Decode(ReadOnlySpan<float> z, int rows, ObservationLikelihood likelihood, Span<float> output)
    {
        Buffers.CopyTo(z, ref _input);
        _decoder.Forward(_input, rows);
        likelihood.Mean(_decoder.Output(0).AsSpan(0, rows * _layout.InputSize), output);
    }

    /// <summary>
    /// The per-row bounds and the gradient of the loss −(1/rows)·Σ bound into <paramref name="gradient"/>, which the
    /// components accumulate into: it is cleared first unless <paramref name="gradientIsZero"/> says it already is.
    /// </summary>
    public void Gradient(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        ObservationLikelihood likelihood, Span<float> rowBounds, float[] gradient, bool gradientIsZero)
    {
        var sampling = _layout.Latent != LatentKind.Categorical || objective.Estimator == GradientEstimator.ScoreFunction ? LatentSampling.Hard
            : objective.StraightThrough ? LatentSampling.StraightThrough : LatentSampling.Relaxed;
        float gradientScale = 1f / rows;
        Forward(x, rows, noise, sampleCount, likelihood, needGradient: true, sampling, objective.Temperature);
        _weights.Compute(rows, sampleCount, objective, _reconstruction.LogLikelihoods, _latents, rowBounds, gradientScale);
        if (!gradientIsZero) Array.Clear(gradient);
        Backward(rows * sampleCount, objective, gradientScale, likelihood, gradient);
    }

    private void EncoderForward(ReadOnlySpan<float> x, int rows)
    {
        Buffers.CopyTo(x, ref _input);
        _encoder.Forward(_input, rows);
    }

    /// <summary>Encoder, samples, decoder and the per-sample log weights log p(x|z) + log p(z) − log q(z|x).</summary>
    private void Forward(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int k, ObservationLikelihood likelihood,
        bool needGradient, LatentSampling sampling, float temperature, Int16StackWeights? decoderInt16 = null)
    {
        int d = _layout.LatentSize, sampleRows = rows * k;
        if (noise.Length != sampleRows * d)
            throw new ArgumentException($"Expected {sampleRows * d} noise values ([{rows}, {k}, {d}]), got {noise.Length}.", nameof(noise));
        EncoderForward(x, rows);
        _latents.Sample(_encoder, noise, rows, k, sampling, temperature);
        _decoder.Forward(_latents.Samples, sampleRows, decoderInt16);
        _reconstruction.Evaluate(likelihood, _input, _decoder.Output(0), rows, k, needGradient ? _decoder.OutputGradient(0) : null);
        _latents.LogWeights(_reconstruction.LogLikelihoods, _weights.PrepareLogWeights(sampleRows), needGradient);
    }

    private void Backward(int sampleRows, in ObjectiveSettings objective, float gradientScale, ObservationLikelihood likelihood, float[] gradient)
    {
        if (_layout.DecoderLogVariance is { } logVariance)
            _reconstruction.AccumulateLogVarianceGradient(likelihood, _weights.Model, sampleRows, gradient.AsSpan(logVariance.Offset, logVariance.Length));

        // The decoder runs on the unweighted ∂log p(x|z)/∂o: each weight gradient scales its rows by the samples'
        // coefficients, so ∂log p(x|z)/∂z comes out unweighted, for the latent family to weight as its estimator says.
        float[] latentGradient = _decoder.BackwardToInput(gradient, _weights.Model);
        _latents.Backward(_encoder, _weights, latentGradient, objective, gradientScale, gradient);
        _encoder.Backward(gradient, rowWeights: null);
    }
}
