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

    /// <summary>With K = 1 and the standard prior: use the closed-form KL(q || p) instead of its one-sample estimate.</summary>
    public bool AnalyticKl { get; set; }

    /// <summary>The bound to maximise over the K samples. Default IWAE (the ELBO when K = 1).</summary>
    public TrainingObjective Objective { get; set; } = TrainingObjective.Iwae;

    /// <summary>MIWAE and PIWAE: the number M of groups the K samples are split into (M must divide K). Default 1.</summary>
    public int ObjectiveGroups { get; set; } = 1;

    /// <summary>CIWAE: the weight β of the ELBO in β·ELBO + (1 − β)·IWAE, in [0, 1]. Default 0.5.</summary>
    public float CiwaeBeta { get; set; } = 0.5f;

    /// <summary>How the encoder's gradient is estimated. Default the reparameterisation trick.</summary>
    public GradientEstimator GradientEstimator { get; set; } = GradientEstimator.Reparameterization;

    /// <summary>Score-function estimator: decay of the running mean of the bound used as baseline, in [0, 1). Default 0.9.</summary>
    public float BaselineDecay { get; set; } = 0.9f;

    /// <summary>Categorical latents: the Gumbel-Softmax temperature τ at the first step. Default 1.</summary>
    public float Temperature { get; set; } = 1f;

    /// <summary>Categorical latents: the floor of the annealed temperature. Default 0.5 (Jang et al. 2017).</summary>
    public float MinimumTemperature { get; set; } = 0.5f;

    /// <summary>Categorical latents: τ_t = max(MinimumTemperature, Temperature·exp(−rate·t)) at step t. Default 1e-4; 0 keeps τ fixed.</summary>
    public float TemperatureAnnealRate { get; set; } = 1e-4f;

    /// <summary>Categorical latents: the decoder sees the hard one-hot sample, gradients flow through the relaxed one (straight-through Gumbel-Softmax).</summary>
    public bool StraightThrough { get; set; }

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

    /// <summary>How the dense layers start. Default <see cref="WeightInitialization.Glorot"/>.</summary>
    public WeightInitialization Initialization { get; set; } = WeightInitialization.Glorot;

    /// <summary>Seed of initialisation, shuffling, binarisation and noise. The same seed and thread count give identical weights.</summary>
    public int Seed { get; set; }

    /// <summary>Worker threads of the managed engine; 0 uses every core, and more than the cores run as many as the cores. Default 0.</summary>
    public int Threads { get; set; }

    /// <summary>Fraction of rows held out to validate after each epoch (0 disables validation and early stopping).</summary>
    public double ValidationFraction { get; set; }

    /// <summary>Epochs without a better validation bound before training stops (the best weights are kept). Default 5.</summary>
    public int EarlyStoppingPatience { get; set; } = 5;

    /// <summary>The engine. Default managed.</summary>
    public EngineKind Engine { get; set; } = EngineKind.Managed;

    /// <summary>libtorch engine: "cpu", "cuda", "cuda:N", or null to pick CUDA when available and fall back to CPU.</summary>
    public string? Device { get; set; }

    /// <summary>
    /// libtorch engine: true (default) runs on the CPU when the CUDA device is unavailable, and on the managed engine when
    /// the shim or libtorch cannot be loaded (the model's EngineName says why); false makes both an error.
    /// </summary>
    public bool FallbackToCpu { get; set; } = true;

    /// <summary>
    /// libtorch engine: train with the device loop (docs/libtorch.md): the training rows stay on the device, and the
    /// shuffling, dynamic binarisation and noise are drawn there by a counter-based generator, so the same seed gives
    /// other weights than the host loop (but the same ones on every device). Options the device loop does not run
    /// (categorical latents, the score-function estimator, the managed engine) train on the host loop, and
    /// <see cref="TrainingProgress.TrainingLoop"/> says why. Default false.
    /// </summary>
    public bool TrainOnDevice { get; set; }

    /// <summary>Device loop: batches between read-backs (progress, cancellation and the divergence check). Default 50.</summary>
    public int DeviceReportInterval { get; set; } = 50;

    /// <summary>More workers than this only multiply the per-thread buffers.</summary>
    internal const int MaxThreads = 1024;

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
        Require(Threads is >= 0 and <= MaxThreads, nameof(Threads), $"must be 0 (all cores) or from 1 to {MaxThreads} (got {Threads}).");
        Require(ValidationFraction >= 0 && ValidationFraction < 1, nameof(ValidationFraction), $"must lie in [0, 1) (got {ValidationFraction}).");
        Require(EarlyStoppingPatience >= 1, nameof(EarlyStoppingPatience), $"must be at least 1 (got {EarlyStoppingPatience}).");
        Require(Enum.IsDefined(Initialization), nameof(Initialization), $"{(int)Initialization} is not a known weight initialization.");
        Require(DeviceReportInterval >= 1, nameof(DeviceReportInterval), $"must be at least 1 (got {DeviceReportInterval}).");
        Require(Enum.IsDefined(Engine), nameof(Engine), $"{(int)Engine} is not a known engine.");
        Require(Enum.IsDefined(Objective), nameof(Objective), $"{(int)Objective} is not a known objective.");
        Require(Enum.IsDefined(GradientEstimator), nameof(GradientEstimator), $"{(int)GradientEstimator} is not a known gradient estimator.");
        Require(ObjectiveGroups >= 1 && SampleCount % ObjectiveGroups == 0, nameof(ObjectiveGroups), $"must be at least 1 and divide SampleCount = {SampleCount} (got {ObjectiveGroups}).");
        Require(ObjectiveGroups == 1 || Objective is TrainingObjective.Miwae or TrainingObjective.Piwae, nameof(ObjectiveGroups),
            $"applies to the MIWAE and PIWAE objectives only (got {ObjectiveGroups} with {Objective}); set it to 1.");
        Require(CiwaeBeta >= 0 && CiwaeBeta <= 1, nameof(CiwaeBeta), $"must lie in [0, 1] (got {CiwaeBeta}).");
        Require(!AnalyticKl || Objective == TrainingObjective.Iwae, nameof(AnalyticKl), $"needs Objective = Iwae (got {Objective}).");
        Require(!AnalyticKl || GradientEstimator == GradientEstimator.Reparameterization, nameof(AnalyticKl),
            $"needs GradientEstimator = Reparameterization (got {GradientEstimator}): the other estimators act on the sampled log q.");
        Require(BaselineDecay >= 0 && BaselineDecay < 1, nameof(BaselineDecay), $"must lie in [0, 1) (got {BaselineDecay}).");
        Require(Temperature > 0 && float.IsFinite(Temperature), nameof(Temperature), $"must be a positive finite number (got {Temperature}).");
        Require(MinimumTemperature > 0 && MinimumTemperature <= Temperature, nameof(MinimumTemperature), $"must lie in (0, Temperature = {Temperature}] (got {MinimumTemperature}).");
        Require(TemperatureAnnealRate >= 0 && float.IsFinite(TemperatureAnnealRate), nameof(TemperatureAnnealRate), $"must be 0 or a positive finite number (got {TemperatureAnnealRate}).");
    }

    /// <summary>Checks the combinations of training and model options; throws <see cref="ArgumentException"/> naming the option to change.</summary>
    internal void ValidateFor(VaeModelOptions model)
    {
        bool categorical = model.Latent == LatentKind.Categorical;
        Require(!categorical || GradientEstimator is GradientEstimator.Reparameterization or GradientEstimator.ScoreFunction, nameof(GradientEstimator),
            $"{GradientEstimator} needs Gaussian latents; categorical latents train with Reparameterization (Gumbel-Softmax) or ScoreFunction.");
        Require(!categorical || GradientEstimator != GradientEstimator.Reparameterization || AnalyticKl, nameof(AnalyticKl),
            "must be true for categorical latents with the Gumbel-Softmax relaxation (the relaxed ELBO uses the closed-form categorical KL); " +
            "for importance-weighted bounds on categorical latents use GradientEstimator.ScoreFunction.");
        Require(!AnalyticKl || model.Prior == PriorKind.Standard, nameof(AnalyticKl), $"needs the standard prior (got {model.Prior}): there is no closed-form KL to it.");
    }

    private static void Require(bool condition, string option, string message)
    {
        if (!condition) throw new ArgumentException($"{option} {message}", option);
    }
}
