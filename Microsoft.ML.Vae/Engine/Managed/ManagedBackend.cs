using System.Collections.Concurrent;
using System.Numerics.Tensors;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>
/// The default engine: the VAE/IWAE forward and backward passes in C#, with the matrix products in <see cref="Gemm"/>
/// and the per-row work split over contiguous row ranges (so results depend on the thread count only). The
/// objectives and estimators are in <see cref="GradientEstimators"/>, the priors in ManagedBackend.Prior.cs and
/// the categorical sampling in <see cref="GumbelSoftmax"/>.
/// </summary>
internal sealed partial class ManagedBackend : IVaeBackend
{
    private readonly float[] _parameters;
    private readonly float[] _gradient;
    private readonly AdamOptimizer _adam;
    private readonly int _threads;
    private readonly ConcurrentBag<Workspace> _workspaces = [];
    private ObservationLikelihood _likelihood;

    /// <summary>How categorical latents are sampled in a forward pass.</summary>
    private enum LatentSampling
    {
        /// <summary>Hard one-hot samples (scoring; the score-function estimator).</summary>
        Hard,
        /// <summary>The decoder sees the Gumbel-Softmax sample.</summary>
        Relaxed,
        /// <summary>The decoder sees the hard sample, the gradient goes through the relaxed one.</summary>
        StraightThrough,
    }

    /// <param name="layout">The model's parameter layout.</param>
    /// <param name="threads">Threads of the GEMM and the optimizer.</param>
    /// <param name="note">Why this engine runs instead of the one asked for (a fallback), shown in <see cref="Name"/>.</param>
    public ManagedBackend(ParameterLayout layout, int threads, string? note = null)
    {
        Name = note is null ? "managed" : $"managed ({note})";
        Layout = layout;
        _threads = Math.Max(1, threads);
        _parameters = new float[layout.Count];
        _gradient = new float[layout.Count];
        _adam = new AdamOptimizer(layout.Count, _threads);
        _likelihood = new ObservationLikelihood(layout, _parameters);
    }

    public string Name { get; }

    public ParameterLayout Layout { get; }

    private bool Categorical => Layout.Latent == LatentKind.Categorical;

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
        ParametersChanged();
    }

    public void Encode(ReadOnlySpan<float> x, int rows, Span<float> mean, Span<float> logVariance)
    {
        var ws = Rent();
        try
        {
            EncoderForward(ws, x, rows);
            int n = rows * Layout.LatentSize;
            if (Categorical)
            {
                Workspace.Ensure(ref ws.LogProbabilities, n);
                GumbelSoftmax.LogProbabilities(ws.Mean.AsSpan(0, n), Layout.CategoryCount, ws.LogProbabilities);
                GumbelSoftmax.Moments(ws.LogProbabilities.AsSpan(0, n), Layout.CategoryCount, mean, logVariance, ws.Scratch(0));
                return;
            }
            ws.Mean.AsSpan(0, n).CopyTo(mean);
            ws.LogVariance.AsSpan(0, n).CopyTo(logVariance);
        }
        finally { _workspaces.Add(ws); }
    }

    public void LogWeights(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, Span<float> logWeights)
    {
        var ws = Rent();
        try
        {
            Forward(ws, x, rows, noise, sampleCount, needGradient: false, LatentSampling.Hard, temperature: 1f);
            ws.LogWeight.AsSpan(0, rows * sampleCount).CopyTo(logWeights);
        }
        finally { _workspaces.Add(ws); }
    }

    public void Decode(ReadOnlySpan<float> z, int rows, Span<float> output)
    {
        var ws = Rent();
        try
        {
            Workspace.Ensure(ref ws.Z, z.Length);
            z.CopyTo(ws.Z);
            DecoderForward(ws, rows);
            var result = ws.Output.AsSpan(0, rows * Layout.InputSize);
            if (Layout.Decoder == DecoderKind.Bernoulli) TensorPrimitives.Sigmoid(result, output);
            else result.CopyTo(output);
        }
        finally { _workspaces.Add(ws); }
    }

    public void Dispose() { }

    private Workspace Rent() => _workspaces.TryTake(out var ws) ? ws : new Workspace(Layout, _threads);

    private void ParametersChanged()
    {
        if (Layout.DecoderLogVariance is not null) _likelihood = new ObservationLikelihood(Layout, _parameters);
        Interlocked.Increment(ref _parameterVersion);
    }

    /// <summary>The loss gradient into <see cref="_gradient"/> and the per-row bounds.</summary>
    private void ComputeGradient(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        Span<float> rowBounds)
    {
        CheckObjective(objective, sampleCount);
        var sampling = !Categorical || objective.Estimator == GradientEstimator.ScoreFunction ? LatentSampling.Hard
            : objective.StraightThrough ? LatentSampling.StraightThrough : LatentSampling.Relaxed;
        var ws = Rent();
        try
        {
            Forward(ws, x, rows, noise, sampleCount, needGradient: true, sampling, objective.Temperature);
            Bounds(ws, rows, sampleCount, objective, rowBounds, gradientScale: 1f / rows);
            Backward(ws, rows, sampleCount, objective, gradientScale: 1f / rows, _gradient);
        }
        finally { _workspaces.Add(ws); }
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

    private void EncoderForward(Workspace ws, ReadOnlySpan<float> x, int rows)
    {
        Workspace.Ensure(ref ws.Input, x.Length);
        x.CopyTo(ws.Input);
        float[] input = ws.Input;
        for (int i = 0; i < Layout.EncoderHidden.Count; i++)
        {
            DenseForward(Layout.EncoderHidden[i], input, rows, ref ws.EncoderHidden[i], applyActivation: true);
            input = ws.EncoderHidden[i];
        }
        DenseForward(Layout.EncoderMean, input, rows, ref ws.Mean, applyActivation: false);
        if (!Categorical) DenseForward(Layout.EncoderLogVariance, input, rows, ref ws.LogVariance, applyActivation: false);
    }

    private void DecoderForward(Workspace ws, int sampleRows)
    {
        float[] input = ws.Z;
        for (int j = 0; j < Layout.DecoderHidden.Count; j++)
        {
            DenseForward(Layout.DecoderHidden[j], input, sampleRows, ref ws.DecoderHidden[j], applyActivation: true);
            input = ws.DecoderHidden[j];
        }
        DenseForward(Layout.DecoderOutput, input, sampleRows, ref ws.Output, applyActivation: false);
    }

    /// <summary>Encoder, samples, decoder and the per-sample log weights log p(x|z) + log p(z) − log q(z|x).</summary>
    private void Forward(Workspace ws, ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int k, bool needGradient,
        LatentSampling sampling, float temperature)
    {
        int d = Layout.LatentSize, f = Layout.InputSize, sampleRows = rows * k;
        if (noise.Length != sampleRows * d)
            throw new ArgumentException($"Expected {sampleRows * d} noise values ([{rows}, {k}, {d}]), got {noise.Length}.", nameof(noise));
        EncoderForward(ws, x, rows);
        Workspace.Ensure(ref ws.Noise, noise.Length);
        noise.CopyTo(ws.Noise);
        Workspace.Ensure(ref ws.Z, sampleRows * d);
        Workspace.Ensure(ref ws.LogWeight, sampleRows);
        Workspace.Ensure(ref ws.LogPx, sampleRows);
        if (Categorical) SampleCategorical(ws, rows, k, sampling, temperature);
        else SampleGaussian(ws, rows, k);
        DecoderForward(ws, sampleRows);

        if (needGradient) Workspace.Ensure(ref ws.OutputGradient, sampleRows * f);
        var likelihood = _likelihood;
        ForRows(sampleRows, (chunk, start, end) =>
        {
            var scratch = ws.Scratch(chunk);
            for (int s = start; s < end; s++)
            {
                var gradient = needGradient ? ws.OutputGradient.AsSpan(s * f, f) : Span<float>.Empty;
                ws.LogPx[s] = likelihood.LogProbability(ws.Input.AsSpan(s / k * f, f), ws.Output.AsSpan(s * f, f), gradient, scratch);
            }
        });
        if (Categorical) CategoricalLogWeights(ws, sampleRows);
        else GaussianLogWeights(ws, rows, k, needGradient);
    }

    /// <summary>z = μ + σ·ε; <see cref="Workspace.LogWeight"/> temporarily holds log q(z|x).</summary>
    private void SampleGaussian(Workspace ws, int rows, int k)
    {
        int d = Layout.LatentSize;
        Workspace.Ensure(ref ws.Sigma, rows * d);
        float latentConstant = d * LogSpace.LogTwoPi;
        ForRows(rows, (_, start, end) =>
        {
            for (int b = start; b < end; b++)
            {
                var sigma = ws.Sigma.AsSpan(b * d, d);
                TensorPrimitives.Multiply(ws.LogVariance.AsSpan(b * d, d), 0.5f, sigma);
                TensorPrimitives.Exp(sigma, sigma);
                var mean = ws.Mean.AsSpan(b * d, d);
                float logVarianceSum = TensorPrimitives.Sum(ws.LogVariance.AsSpan(b * d, d));
                for (int s = b * k; s < (b + 1) * k; s++)
                {
                    var eps = ws.Noise.AsSpan(s * d, d);
                    TensorPrimitives.FusedMultiplyAdd(eps, sigma, mean, ws.Z.AsSpan(s * d, d));
                    ws.LogWeight[s] = -0.5f * (TensorPrimitives.SumOfSquares(eps) + logVarianceSum + latentConstant);
                }
            }
        });
    }

    /// <summary>Gumbel-max (and Gumbel-Softmax) samples; <see cref="Workspace.LogWeight"/> temporarily holds log q(h|x).</summary>
    private void SampleCategorical(Workspace ws, int rows, int k, LatentSampling sampling, float temperature)
    {
        int d = Layout.LatentSize, categories = Layout.CategoryCount, sampleRows = rows * k;
        Workspace.Ensure(ref ws.LogProbabilities, rows * d);
        Workspace.Ensure(ref ws.Hard, sampleRows * d);
        bool relax = sampling != LatentSampling.Hard;
        if (relax) Workspace.Ensure(ref ws.Relaxed, sampleRows * d);
        GumbelSoftmax.LogProbabilities(ws.Mean.AsSpan(0, rows * d), categories, ws.LogProbabilities);
        ForRows(sampleRows, (_, start, end) =>
        {
            for (int s = start; s < end; s++)
            {
                var hard = ws.Hard.AsSpan(s * d, d);
                var relaxed = relax ? ws.Relaxed.AsSpan(s * d, d) : Span<float>.Empty;
                ws.LogWeight[s] = GumbelSoftmax.Sample(ws.LogProbabilities.AsSpan(s / k * d, d), ws.Noise.AsSpan(s * d, d), categories, temperature, hard, relaxed);
                (sampling == LatentSampling.Relaxed ? relaxed : hard).CopyTo(ws.Z.AsSpan(s * d, d));
            }
        });
    }

    /// <summary>log w = log p(x|h) + log p(h) − log q(h|x) with the uniform prior p(h) = C^−G.</summary>
    private void CategoricalLogWeights(Workspace ws, int sampleRows)
    {
        float logPrior = -Layout.LatentVariables * MathF.Log(Layout.CategoryCount);
        for (int s = 0; s < sampleRows; s++) ws.LogWeight[s] = ws.LogPx[s] + logPrior - ws.LogWeight[s];
    }

    /// <summary>log w = log p(x|z) + log p(z) − log q(z|x); with a gradient, ∇_z log p(z) and the prior's responsibilities too.</summary>
    private void GaussianLogWeights(Workspace ws, int rows, int k, bool needGradient)
    {
        int d = Layout.LatentSize, sampleRows = rows * k;
        var prior = CurrentPrior().Mixture;
        int components = prior.Components;
        bool keepResponsibilities = needGradient && Layout.Prior != PriorKind.Standard;
        if (keepResponsibilities || components > 1) Workspace.Ensure(ref ws.Responsibilities, sampleRows * components);
        if (needGradient) Workspace.Ensure(ref ws.PriorGradient, sampleRows * d);
        ForRows(sampleRows, (chunk, start, end) =>
        {
            var scratch = ws.Scratch(chunk);
            for (int s = start; s < end; s++)
            {
                var responsibilities = keepResponsibilities || components > 1 ? ws.Responsibilities.AsSpan(s * components, components) : Span<float>.Empty;
                var zGradient = needGradient ? ws.PriorGradient.AsSpan(s * d, d) : Span<float>.Empty;
                float logPz = prior.LogDensity(ws.Z.AsSpan(s * d, d), responsibilities, zGradient, scratch);
                ws.LogWeight[s] = ws.LogPx[s] + logPz - ws.LogWeight[s];
            }
        });
    }

    /// <summary>
    /// Per-row bounds, and the per-sample coefficients of the loss gradient (<see cref="GradientEstimators"/>): for the
    /// analytic-KL ELBO (whose sample term is log p(x|z) alone) −scale/K for the decoder and the encoder's path.
    /// </summary>
    private void Bounds(Workspace ws, int rows, int k, in ObjectiveSettings objective, Span<float> rowBounds, float gradientScale)
    {
        int sampleRows = rows * k;
        Workspace.Ensure(ref ws.SampleWeight, sampleRows);
        Workspace.Ensure(ref ws.PathWeight, sampleRows);
        Workspace.Ensure(ref ws.ScoreWeight, sampleRows);
        if (objective.AnalyticKl)
        {
            for (int b = 0; b < rows; b++)
                rowBounds[b] = (float)(TensorPrimitives.Sum(ws.LogPx.AsSpan(b * k, k)) / k - AnalyticKl(ws, b));
            ws.SampleWeight.AsSpan(0, sampleRows).Fill(-gradientScale / k);
            ws.PathWeight.AsSpan(0, sampleRows).Fill(-gradientScale / k);
            ws.ScoreWeight.AsSpan(0, sampleRows).Clear();
            return;
        }

        // Without a baseline from the host, row b's is the mean bound of the other rows: independent of its samples, so unbiased.
        bool leaveOneOut = objective.Estimator == GradientEstimator.ScoreFunction && float.IsNaN(objective.ScoreBaseline);
        double sum = 0;
        if (leaveOneOut)
            for (int b = 0; b < rows; b++) sum += LogSpace.LogMeanExp(ws.LogWeight.AsSpan(b * k, k));
        for (int b = 0; b < rows; b++)
        {
            var logWeights = ws.LogWeight.AsSpan(b * k, k);
            float baseline = !leaveOneOut ? objective.ScoreBaseline
                : rows > 1 ? (float)((sum - LogSpace.LogMeanExp(logWeights)) / (rows - 1)) : 0f;
            rowBounds[b] = GradientEstimators.RowWeights(objective, logWeights, gradientScale, baseline,
                ws.SampleWeight.AsSpan(b * k, k), ws.PathWeight.AsSpan(b * k, k), ws.ScoreWeight.AsSpan(b * k, k));
        }
    }

    /// <summary>KL(q(z|x_b) || p(z)) in closed form: Gaussian to N(0, I), or categorical to uniform.</summary>
    private double AnalyticKl(Workspace ws, int b)
    {
        int d = Layout.LatentSize;
        if (Categorical) return GumbelSoftmax.KlToUniform(ws.LogProbabilities.AsSpan(b * d, d), Layout.CategoryCount, 0f, Span<float>.Empty);
        var mean = ws.Mean.AsSpan(b * d, d);
        var logVariance = ws.LogVariance.AsSpan(b * d, d);
        double kl = 0;
        for (int j = 0; j < d; j++) kl += 0.5 * (mean[j] * mean[j] + Math.Exp(logVariance[j]) - 1 - logVariance[j]);
        return kl;
    }

    private void Backward(Workspace ws, int rows, int k, in ObjectiveSettings objective, float gradientScale, float[] gradient)
    {
        int sampleRows = rows * k;
        Array.Clear(gradient);

        if (Layout.DecoderLogVariance is { } logVarianceTensor)
            AccumulateLogVarianceGradient(ws, sampleRows, gradient.AsSpan(logVarianceTensor.Offset, logVarianceTensor.Length));

        // Decoder, output layer first, on the unweighted ∂log p(x|z)/∂o: each weight gradient scales its rows by the
        // samples' coefficients, so ∂log p(x|z)/∂z comes out unweighted, for the encoder to weight as its estimator says.
        float[] upstream = ws.OutputGradient;
        var decoderInputs = ws.DecoderHidden;
        DenseLayer layer = Layout.DecoderOutput;
        for (int j = Layout.DecoderHidden.Count; j >= 0; j--)
        {
            float[] input = j == 0 ? ws.Z : decoderInputs[j - 1];
            ref float[] downstream = ref (upstream == ws.GradientA ? ref ws.GradientB : ref ws.GradientA);
            DenseBackward(ws, layer, input, upstream, sampleRows, gradient, ref downstream, ws.SampleWeight);
            upstream = downstream;
            if (j > 0)
            {
                layer = Layout.DecoderHidden[j - 1];
                ActivationBackward(decoderInputs[j - 1], upstream, sampleRows * layer.Outputs);
            }
        }
        float[] latentGradient = upstream; // ∂log p(x|z)/∂z, [rows·K, latent]

        if (Categorical) CategoricalLatentBackward(ws, rows, k, objective, latentGradient, gradientScale);
        else
        {
            GaussianLatentBackward(ws, rows, k, objective, latentGradient, gradientScale);
            PriorBackward(ws, sampleRows, gradient);
        }
        EncoderBackward(ws, rows, gradient, inputGradient: Span<float>.Empty);
    }

    /// <summary>
    /// ∂loss/∂μ and ∂loss/∂log σ² into <see cref="Workspace.MeanGradient"/> and <see cref="Workspace.LogVarianceGradient"/>:
    /// the path derivative through z = μ + σ·ε (dz/dμ = 1, dz/d log σ² = ½σε), the score terms, and the closed-form KL.
    /// </summary>
    private void GaussianLatentBackward(Workspace ws, int rows, int k, in ObjectiveSettings objective, float[] latentGradient, float gradientScale)
    {
        int d = Layout.LatentSize;
        Workspace.Ensure(ref ws.MeanGradient, rows * d);
        Workspace.Ensure(ref ws.LogVarianceGradient, rows * d);
        bool analytic = objective.AnalyticKl;
        bool stopPosterior = GradientEstimators.StopsPosteriorGradient(objective.Estimator);
        // The plain trick differentiates −log q(z(ε)) = ½ Σ (ε² + log σ² + log 2π) in full: +½ per log σ², nothing for μ.
        bool entropy = !analytic && objective.Estimator == GradientEstimator.Reparameterization;
        ForRows(rows, (chunk, start, end) =>
        {
            var scratch = ws.Scratch(chunk)[..d];
            for (int b = start; b < end; b++)
            {
                var meanGradient = ws.MeanGradient.AsSpan(b * d, d);
                var logVarianceGradient = ws.LogVarianceGradient.AsSpan(b * d, d);
                var sigma = ws.Sigma.AsSpan(b * d, d);
                meanGradient.Clear();
                logVarianceGradient.Clear();
                float entropyWeight = 0;
                for (int s = b * k; s < (b + 1) * k; s++)
                {
                    var eps = ws.Noise.AsSpan(s * d, d);
                    float path = ws.PathWeight[s];
                    if (path != 0)
                    {
                        // dz = path·(∇_z log p(x|z) + ∇_z log p(z) [+ ∇_z(−log q(z)) = ε/σ with q's parameters held]).
                        var dz = latentGradient.AsSpan(s * d, d);
                        if (!analytic) TensorPrimitives.Add(dz, ws.PriorGradient.AsSpan(s * d, d), dz);
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
                    float score = ws.ScoreWeight[s];
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
                    var mean = ws.Mean.AsSpan(b * d, d);
                    var logVariance = ws.LogVariance.AsSpan(b * d, d);
                    TensorPrimitives.MultiplyAdd(mean, gradientScale, meanGradient, meanGradient);
                    for (int j = 0; j < d; j++) logVarianceGradient[j] += gradientScale * 0.5f * (MathF.Exp(logVariance[j]) - 1);
                }
            }
        });
    }

    /// <summary>∂loss/∂logits into <see cref="Workspace.MeanGradient"/>: through the relaxed samples, the score terms and the closed-form KL.</summary>
    private void CategoricalLatentBackward(Workspace ws, int rows, int k, in ObjectiveSettings objective, float[] latentGradient, float gradientScale)
    {
        int d = Layout.LatentSize, categories = Layout.CategoryCount;
        Workspace.Ensure(ref ws.MeanGradient, rows * d);
        bool analytic = objective.AnalyticKl;
        float temperature = objective.Temperature;
        ForRows(rows, (chunk, start, end) =>
        {
            var scratch = ws.Scratch(chunk)[..d];
            for (int b = start; b < end; b++)
            {
                var logitGradient = ws.MeanGradient.AsSpan(b * d, d);
                var logProbabilities = ws.LogProbabilities.AsSpan(b * d, d);
                logitGradient.Clear();
                for (int s = b * k; s < (b + 1) * k; s++)
                {
                    float path = ws.PathWeight[s];
                    if (path != 0)
                    {
                        TensorPrimitives.Multiply(latentGradient.AsSpan(s * d, d), path, scratch);
                        GumbelSoftmax.AccumulateRelaxedGradient(ws.Relaxed.AsSpan(s * d, d), scratch, categories, temperature, logitGradient);
                    }
                    float score = ws.ScoreWeight[s];
                    if (score != 0) GumbelSoftmax.AccumulateScore(logProbabilities, ws.Hard.AsSpan(s * d, d), score, logitGradient);
                }
                if (analytic) GumbelSoftmax.KlToUniform(logProbabilities, categories, gradientScale, logitGradient);
            }
        });
    }

    /// <summary>
    /// Encoder heads from <see cref="Workspace.MeanGradient"/> (and <see cref="Workspace.LogVarianceGradient"/>), then
    /// the hidden layers, adding to <paramref name="gradient"/>; ∂loss/∂input into <paramref name="inputGradient"/> if not empty.
    /// </summary>
    private void EncoderBackward(Workspace ws, int rows, float[] gradient, Span<float> inputGradient)
    {
        float[] lastHidden = ws.EncoderHidden[^1];
        ref float[] hiddenGradient = ref ws.GradientA;
        DenseBackward(ws, Layout.EncoderMean, lastHidden, ws.MeanGradient, rows, gradient, ref hiddenGradient);
        if (!Categorical)
            DenseBackward(ws, Layout.EncoderLogVariance, lastHidden, ws.LogVarianceGradient, rows, gradient, ref hiddenGradient, accumulateInputGradient: true);
        float[] upstream = hiddenGradient;
        for (int i = Layout.EncoderHidden.Count - 1; i >= 0; i--)
        {
            var layer = Layout.EncoderHidden[i];
            ActivationBackward(ws.EncoderHidden[i], upstream, rows * layer.Outputs);
            float[] input = i == 0 ? ws.Input : ws.EncoderHidden[i - 1];
            if (i == 0 && inputGradient.IsEmpty)
            {
                DenseWeightGradient(ws, layer, input, upstream, rows, gradient, rowWeights: null);
                break;
            }
            ref float[] downstream = ref (upstream == ws.GradientA ? ref ws.GradientB : ref ws.GradientA);
            DenseBackward(ws, layer, input, upstream, rows, gradient, ref downstream);
            upstream = downstream;
        }
        if (!inputGradient.IsEmpty) TensorPrimitives.Add(inputGradient, upstream.AsSpan(0, inputGradient.Length), inputGradient);
    }

    private void AccumulateLogVarianceGradient(Workspace ws, int sampleRows, Span<float> target)
    {
        int f = Layout.InputSize;
        var scratch = ws.Scratch(0);
        // Sequential in row order: the sum must not depend on scheduling.
        for (int s = 0; s < sampleRows; s++)
            _likelihood.AccumulateLogVarianceGradient(ws.OutputGradient.AsSpan(s * f, f), ws.SampleWeight[s], target, scratch);
    }

    private void DenseForward(DenseLayer layer, float[] input, int rows, ref float[] output, bool applyActivation)
    {
        int n = layer.Outputs;
        Workspace.Ensure(ref output, rows * n);
        Gemm.Multiply(Transpose.No, Transpose.No, rows, n, layer.Inputs, 1f,
            input, layer.Inputs, Weights(layer.Weight), n, 0f, output, n, _threads);
        float[] result = output;
        var bias = _parameters.AsMemory(layer.Bias.Offset, n);
        var activation = Layout.Activation;
        ForRows(rows, (_, start, end) =>
        {
            var span = result.AsSpan(start * n, (end - start) * n);
            var b = bias.Span;
            for (int r = 0; r < end - start; r++) TensorPrimitives.Add(span.Slice(r * n, n), b, span.Slice(r * n, n));
            if (applyActivation) Activations.Apply(activation, span);
        });
    }

    /// <summary>
    /// Adds the weight and bias gradients of y = x·W + b given ∂loss/∂y (rows scaled by <paramref name="rowWeights"/>
    /// when given), and writes (or adds) the unscaled ∂loss/∂x into <paramref name="inputGradient"/>.
    /// </summary>
    private void DenseBackward(Workspace ws, DenseLayer layer, float[] input, float[] outputGradient, int rows, float[] gradient,
        ref float[] inputGradient, float[]? rowWeights = null, bool accumulateInputGradient = false)
    {
        DenseWeightGradient(ws, layer, input, outputGradient, rows, gradient, rowWeights);
        if (!accumulateInputGradient) Workspace.Ensure(ref inputGradient, rows * layer.Inputs);
        Gemm.Multiply(Transpose.No, Transpose.Yes, rows, layer.Inputs, layer.Outputs, 1f,
            outputGradient, layer.Outputs, Weights(layer.Weight), layer.Outputs, accumulateInputGradient ? 1f : 0f,
            inputGradient, layer.Inputs, _threads);
    }

    private void DenseWeightGradient(Workspace ws, DenseLayer layer, float[] input, float[] outputGradient, int rows, float[] gradient, float[]? rowWeights)
    {
        int n = layer.Outputs;
        if (rowWeights is not null)
        {
            Workspace.Ensure(ref ws.ScaledGradient, rows * n);
            float[] scaled = ws.ScaledGradient, source = outputGradient;
            ForRows(rows, (_, start, end) =>
            {
                for (int r = start; r < end; r++) TensorPrimitives.Multiply(source.AsSpan(r * n, n), rowWeights[r], scaled.AsSpan(r * n, n));
            });
            outputGradient = scaled;
        }
        Gemm.Multiply(Transpose.Yes, Transpose.No, layer.Inputs, n, rows, 1f,
            input, layer.Inputs, outputGradient, n, 1f, gradient.AsSpan(layer.Weight.Offset, layer.Weight.Length), n, _threads);
        AddColumnSums(outputGradient, rows, n, gradient, layer.Bias.Offset);
    }

    /// <summary>
    /// target[offset + j] += Σ_r values[r, j]: the bias gradient. Workers take column ranges and add rows in order, so
    /// the sums do not depend on the thread count.
    /// </summary>
    private void AddColumnSums(float[] values, int rows, int columns, float[] target, int offset)
    {
        const int minimumColumns = 64;
        int workers = Math.Clamp(columns / minimumColumns, 1, _threads);
        void Sum(int from, int to)
        {
            var sums = target.AsSpan(offset + from, to - from);
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(sums, values.AsSpan(r * columns + from, to - from), sums);
        }
        if (workers == 1 || rows * columns < 1 << 16) { Sum(0, columns); return; }
        // Column ranges on 16-float boundaries keep each worker's adds whole vectors.
        int width = (columns / workers + 15) & ~15;
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers },
            w => Sum(Math.Min(columns, w * width), w == workers - 1 ? columns : Math.Min(columns, (w + 1) * width)));
    }

    private void ActivationBackward(float[] outputs, float[] gradient, int count)
    {
        if (Layout.Activation == Activation.Identity) return;
        var activation = Layout.Activation;
        const int block = 4096;
        ForRows((count + block - 1) / block, (_, start, end) =>
        {
            int from = start * block, to = Math.Min(count, end * block);
            var scratch = new float[Math.Min(block, to - from)];
            for (int i = from; i < to; i += block)
            {
                int length = Math.Min(block, to - i);
                Activations.MultiplyByDerivative(activation, outputs.AsSpan(i, length), gradient.AsSpan(i, length), scratch.AsSpan(0, length));
            }
        });
    }

    private ReadOnlySpan<float> Weights(ParameterTensor tensor) => _parameters.AsSpan(tensor.Offset, tensor.Length);

    /// <summary>Runs body(chunk, start, end) over contiguous row ranges, one per worker.</summary>
    private void ForRows(int rows, Action<int, int, int> body)
    {
        int chunks = Math.Min(_threads, rows);
        if (chunks <= 1) { body(0, 0, rows); return; }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks },
            c => body(c, (int)((long)rows * c / chunks), (int)((long)rows * (c + 1) / chunks)));
    }
}
