namespace Microsoft.ML.Vae;

/// <summary>How Bernoulli training data is turned into 0/1 values.</summary>
public enum Binarization
{
    /// <summary>Use the values as they are (grey values are valid Bernoulli targets in [0, 1]).</summary>
    None,
    /// <summary>x &gt; <see cref="VaeTrainerOptions.BinarizationThreshold"/> becomes 1, once.</summary>
    Threshold,
    /// <summary>Each time a row is used, sample x ~ Bernoulli(value) afresh (Salakhutdinov and Murray).</summary>
    Dynamic,
}

/// <summary>Which engine runs the computation.</summary>
public enum EngineKind
{
    /// <summary>Pure C# with SIMD kernels; no native dependency. The default.</summary>
    Managed,
    /// <summary>libtorch through the native shim (CPU or CUDA).</summary>
    LibTorch,
}

/// <summary>Training choices: objective, optimiser, data handling, reproducibility and engine.</summary>
public sealed class VaeTrainerOptions
{
    /// <summary>Importance samples per row (K). 1 trains the VAE (ELBO), K &gt; 1 the IWAE bound L_K. Default 5.</summary>
    public int SampleCount { get; set; } = 5;

    /// <summary>With K = 1: use the closed-form KL(q || N(0, I)) instead of its one-sample estimate.</summary>
    public bool AnalyticKl { get; set; }

    /// <summary>Passes over the training rows. Default 20.</summary>
    public int Epochs { get; set; } = 20;

    /// <summary>Rows per minibatch. Default 100.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Adam step size. Default 1e-3.</summary>
    public float LearningRate { get; set; } = 1e-3f;

    /// <summary>Adam first-moment decay. Default 0.9.</summary>
    public float Beta1 { get; set; } = 0.9f;

    /// <summary>Adam second-moment decay. Default 0.999.</summary>
    public float Beta2 { get; set; } = 0.999f;

    /// <summary>Adam denominator offset. Default 1e-4 (Burda et al.).</summary>
    public float Epsilon { get; set; } = 1e-4f;

    /// <summary>Bernoulli decoder only: how training rows are binarised. Default none.</summary>
    public Binarization Binarization { get; set; } = Binarization.None;

    /// <summary>Threshold for <see cref="Binarization.Threshold"/>. Default 0.5.</summary>
    public float BinarizationThreshold { get; set; } = 0.5f;

    /// <summary>Seed of initialisation, shuffling, binarisation and noise. The same seed and thread count give identical weights.</summary>
    public int Seed { get; set; }

    /// <summary>Worker threads of the managed engine; 0 uses every core. Default 0.</summary>
    public int Threads { get; set; }

    /// <summary>Fraction of rows held out to validate after each epoch (0 disables validation and early stopping).</summary>
    public double ValidationFraction { get; set; }

    /// <summary>Epochs without a better validation bound before training stops (the best weights are kept). Default 5.</summary>
    public int EarlyStoppingPatience { get; set; } = 5;

    /// <summary>The engine. Default managed.</summary>
    public EngineKind Engine { get; set; } = EngineKind.Managed;

    /// <summary>libtorch engine: "cpu", "cuda", "cuda:N", or null to pick CUDA when available and fall back to CPU.</summary>
    public string? Device { get; set; }

    /// <summary>libtorch engine: with an automatic or CUDA device, fail instead of falling back to CPU. Default true (fallback allowed).</summary>
    public bool FallbackToCpu { get; set; } = true;

    internal int ResolvedThreads => Threads > 0 ? Threads : Environment.ProcessorCount;

    public VaeTrainerOptions Clone() => (VaeTrainerOptions)MemberwiseClone();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        Require(SampleCount >= 1, nameof(SampleCount), $"must be at least 1 (got {SampleCount}); use 1 for the ELBO.");
        Require(!AnalyticKl || SampleCount == 1, nameof(AnalyticKl), $"needs SampleCount = 1 (got {SampleCount}): the importance-weighted bound has no closed-form KL term.");
        Require(Epochs >= 1, nameof(Epochs), $"must be at least 1 (got {Epochs}).");
        Require(BatchSize >= 1, nameof(BatchSize), $"must be at least 1 (got {BatchSize}).");
        Require(LearningRate > 0 && float.IsFinite(LearningRate), nameof(LearningRate), $"must be a positive finite number (got {LearningRate}).");
        Require(Beta1 >= 0 && Beta1 < 1, nameof(Beta1), $"must lie in [0, 1) (got {Beta1}).");
        Require(Beta2 >= 0 && Beta2 < 1, nameof(Beta2), $"must lie in [0, 1) (got {Beta2}).");
        Require(Epsilon > 0 && float.IsFinite(Epsilon), nameof(Epsilon), $"must be a positive finite number (got {Epsilon}).");
        Require(Enum.IsDefined(Binarization), nameof(Binarization), $"{(int)Binarization} is not a known binarization.");
        Require(BinarizationThreshold >= 0 && BinarizationThreshold <= 1, nameof(BinarizationThreshold), $"must lie in [0, 1] (got {BinarizationThreshold}).");
        Require(Threads >= 0, nameof(Threads), $"must be 0 (all cores) or positive (got {Threads}).");
        Require(ValidationFraction >= 0 && ValidationFraction < 1, nameof(ValidationFraction), $"must lie in [0, 1) (got {ValidationFraction}).");
        Require(EarlyStoppingPatience >= 1, nameof(EarlyStoppingPatience), $"must be at least 1 (got {EarlyStoppingPatience}).");
        Require(Enum.IsDefined(Engine), nameof(Engine), $"{(int)Engine} is not a known engine.");
    }

    private static void Require(bool condition, string option, string message)
    {
        if (!condition) throw new ArgumentException($"{option} {message}", option);
    }
}
