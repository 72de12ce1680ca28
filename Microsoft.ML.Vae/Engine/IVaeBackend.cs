namespace Microsoft.ML.Vae.Engine;

/// <summary>
/// The engine boundary: one model's parameters and optimiser state, and the whole-batch computations on them.
/// Every call takes a whole batch; layouts are row-major and described in docs/design.md. Parameters use the flat
/// <see cref="Model.ParameterLayout"/> shared by all engines. Implementations need not be thread-safe for training
/// calls; <see cref="Encode"/>, <see cref="LogWeights"/> and <see cref="Decode"/> must be safe to call concurrently.
/// </summary>
internal interface IVaeBackend : IDisposable
{
    /// <summary>Engine name for messages and benchmarks, e.g. "managed" or "libtorch (cuda:0)".</summary>
    string Name { get; }

    Model.ParameterLayout Layout { get; }

    /// <summary>Replaces the parameters (and resets the optimiser state).</summary>
    void SetParameters(ReadOnlySpan<float> parameters);

    void GetParameters(Span<float> parameters);

    /// <summary>
    /// Per-row bound <c>L_K</c> (<paramref name="rowBounds"/>, length rows) and the gradient of the loss
    /// <c>-(1/rows)·Σ L_K</c> with respect to every parameter (<paramref name="gradient"/>, layout order).
    /// <paramref name="noise"/> holds eps, <c>[rows, sampleCount, latent]</c>: standard normal draws for Gaussian
    /// latents, uniform draws in (0, 1) for categorical latents (turned into Gumbel noise by the engine).
    /// </summary>
    void Gradient(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        Span<float> rowBounds, Span<float> gradient);

    /// <summary>Gradient as above, then one Adam step; returns the per-row bounds before the step.</summary>
    void TrainStep(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        in AdamSettings adam, Span<float> rowBounds);

    /// <summary>
    /// Posterior mean and log-variance, each <c>[rows, latent]</c>; for categorical latents the mean of the one-hot z
    /// (the class probabilities π) and log(π(1 − π)).
    /// </summary>
    void Encode(ReadOnlySpan<float> x, int rows, Span<float> mean, Span<float> logVariance);

    /// <summary>
    /// Log importance weights <c>log p(x,z) - log q(z|x)</c>, <c>[rows, sampleCount]</c>. Categorical latents use hard
    /// one-hot samples (Gumbel-max of the uniform noise) and exact categorical probabilities, so the weights give a
    /// valid IWAE bound on the discrete model.
    /// </summary>
    void LogWeights(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, Span<float> logWeights);

    /// <summary>
    /// Sample rows (rows × samples) a scoring pass should hold: small enough to stay in cache on a CPU, large enough
    /// to fill a GPU. Large-K estimates are computed in passes of this size.
    /// </summary>
    int ScoringSampleRows => 4096;

    /// <summary>Decoder output for latent rows <c>[rows, latent]</c>: probabilities (Bernoulli) or means (Gaussian), <c>[rows, features]</c>.</summary>
    void Decode(ReadOnlySpan<float> z, int rows, Span<float> output);
}

/// <summary>
/// What the training objective is, as the engine needs it (docs/estimators.md). The defaults are the plain
/// reparameterised IWAE bound; engines that do not implement a setting must reject it rather than ignore it.
/// </summary>
internal readonly record struct ObjectiveSettings(bool AnalyticKl)
{
    public TrainingObjective Objective { get; init; } = TrainingObjective.Iwae;

    /// <summary>MIWAE/PIWAE: groups M of the K samples (M divides K).</summary>
    public int Groups { get; init; } = 1;

    /// <summary>CIWAE: weight of the ELBO.</summary>
    public float CiwaeBeta { get; init; } = 0.5f;

    public GradientEstimator Estimator { get; init; } = GradientEstimator.Reparameterization;

    /// <summary>Score function: the baseline c subtracted from the learning signal; NaN uses, per row, the mean bound of the batch's other rows.</summary>
    public float ScoreBaseline { get; init; } = float.NaN;

    /// <summary>Categorical latents: Gumbel-Softmax temperature τ.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Categorical latents: feed the hard one-hot sample forward, differentiate through the relaxed one.</summary>
    public bool StraightThrough { get; init; }
}

/// <summary>Adam hyper-parameters for one step (the step count drives bias correction).</summary>
internal readonly record struct AdamSettings(float LearningRate, float Beta1, float Beta2, float Epsilon, long Step);
