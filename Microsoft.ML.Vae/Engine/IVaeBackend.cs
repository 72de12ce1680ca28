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
    /// <paramref name="noise"/> holds eps, <c>[rows, sampleCount, latent]</c>.
    /// </summary>
    void Gradient(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        Span<float> rowBounds, Span<float> gradient);

    /// <summary>Gradient as above, then one Adam step; returns the per-row bounds before the step.</summary>
    void TrainStep(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        in AdamSettings adam, Span<float> rowBounds);

    /// <summary>Posterior mean and log-variance, each <c>[rows, latent]</c>.</summary>
    void Encode(ReadOnlySpan<float> x, int rows, Span<float> mean, Span<float> logVariance);

    /// <summary>Log importance weights <c>log p(x,z) - log q(z|x)</c>, <c>[rows, sampleCount]</c>.</summary>
    void LogWeights(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, Span<float> logWeights);

    /// <summary>
    /// Sample rows (rows × samples) a scoring pass should hold: small enough to stay in cache on a CPU, large enough
    /// to fill a GPU. Large-K estimates are computed in passes of this size.
    /// </summary>
    int ScoringSampleRows => 4096;

    /// <summary>Decoder output for latent rows <c>[rows, latent]</c>: probabilities (Bernoulli) or means (Gaussian), <c>[rows, features]</c>.</summary>
    void Decode(ReadOnlySpan<float> z, int rows, Span<float> output);
}

/// <summary>What the training objective is, as the engine needs it.</summary>
internal readonly record struct ObjectiveSettings(bool AnalyticKl);

/// <summary>Adam hyper-parameters for one step (the step count drives bias correction).</summary>
internal readonly record struct AdamSettings(float LearningRate, float Beta1, float Beta2, float Epsilon, long Step);
