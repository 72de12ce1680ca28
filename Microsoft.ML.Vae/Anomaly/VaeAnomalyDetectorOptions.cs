namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// How a <see cref="VaeAnomalyTrainer"/> builds a detector: the model and its training, the anomaly score, and how the
/// threshold is calibrated on rows held out of training.
/// </summary>
public sealed class VaeAnomalyDetectorOptions
{
    /// <summary>The VAE architecture and likelihood.</summary>
    public VaeModelOptions Model { get; set; } = new();

    /// <summary>How the VAE (and the background model, when there is one) is trained.</summary>
    public VaeTrainerOptions Trainer { get; set; } = new();

    /// <summary>The anomaly score. Default <see cref="AnomalyScoreKind.NegativeLogLikelihood"/>.</summary>
    public AnomalyScoreKind Score { get; set; } = AnomalyScoreKind.NegativeLogLikelihood;

    /// <summary>Importance samples (K) of the IWAE estimate of log p(x) when scoring. Default 100.</summary>
    public int EvaluationSampleCount { get; set; } = 100;

    /// <summary>Seed of the scoring noise; the same seed gives the same scores.</summary>
    public int ScoringSeed { get; set; }

    /// <summary>Per-feature rescaling fitted on the training rows. Default none.</summary>
    public FeatureScaling FeatureScaling { get; set; } = FeatureScaling.None;

    /// <summary>Fraction of the given rows held out of training to calibrate the threshold. Default 0.1.</summary>
    public double CalibrationFraction { get; set; } = 0.1;

    /// <summary>
    /// For data known to be normal: the fraction of normal rows the threshold may flag. The threshold is the
    /// corresponding upper quantile of the held-out scores. Default (when <see cref="Contamination"/> is not set) 0.01.
    /// </summary>
    public double? TargetFalsePositiveRate { get; set; }

    /// <summary>
    /// For data that holds some anomalies: their expected fraction; the threshold flags that fraction of the held-out
    /// rows. Set this or <see cref="TargetFalsePositiveRate"/>, not both.
    /// </summary>
    public double? Contamination { get; set; }

    /// <summary>
    /// <see cref="AnomalyScoreKind.LikelihoodRatio"/> only: probability that a feature of a background training row is
    /// replaced by a random value from the feature's range. Default 0.2.
    /// </summary>
    public double BackgroundPerturbationRate { get; set; } = 0.2;

    /// <summary><see cref="AnomalyScoreKind.LatentNeighbourDistance"/> only: how many nearest training rows are averaged. Default 20.</summary>
    public int NeighbourCount { get; set; } = 20;

    /// <summary>
    /// How many VAEs to train (with seeds Trainer.Seed, +2, +4, …) and score with; the score is then the mean of their
    /// scores, each standardised on the calibration rows. More models smooth out the variation between training runs
    /// at a proportional cost in training and scoring time. Default 1.
    /// </summary>
    public int EnsembleSize { get; set; } = 1;

    /// <summary>
    /// When set, <c>Trainer.Epochs</c> is chosen from the number of training rows so that training takes about this many
    /// optimiser steps, within 10 to 200 epochs: small data sets train long enough (a learned decoder variance needs
    /// about 2,000 steps to settle) and large ones no longer than needed. Default null: <c>Trainer.Epochs</c> as given.
    /// </summary>
    public int? TrainingSteps { get; set; }

    /// <summary>Epoch bounds of <see cref="TrainingSteps"/>.</summary>
    public const int MinimumEpochs = 10, MaximumEpochs = 200;

    /// <summary>
    /// The settings measured best on tabular data (docs/tabular-anomaly.md: beat RandomizedPca and PCA on every data set
    /// of the benchmark): features standardised, a 64-64 network with 16 latent dimensions and a Gaussian decoder that
    /// learns one variance per feature, K = 5 in training at learning rate 3e-3 for about 2,000 steps, Score = −log p(x)
    /// with K = 100.
    /// </summary>
    public static VaeAnomalyDetectorOptions ForTabularData() => new()
    {
        Model = new VaeModelOptions { HiddenSizes = [64, 64], LatentSize = 16, Decoder = DecoderKind.Gaussian, LearnDecoderVariance = true, DecoderVariance = 1f },
        Trainer = new VaeTrainerOptions { SampleCount = 5, BatchSize = 100, LearningRate = 3e-3f },
        FeatureScaling = FeatureScaling.Standardize,
        Score = AnomalyScoreKind.NegativeLogLikelihood,
        EvaluationSampleCount = 100,
        TrainingSteps = 2000,
    };

    internal double FlaggedFraction => Contamination ?? TargetFalsePositiveRate ?? 0.01;

    /// <summary>The epochs to train on <paramref name="trainingRows"/> rows: <see cref="TrainingSteps"/>' rule when set, else Trainer.Epochs.</summary>
    internal int EpochsFor(int trainingRows) => TrainingSteps is { } steps
        ? (int)Math.Clamp(Math.Ceiling(steps * (double)Math.Min(Trainer.BatchSize, trainingRows) / trainingRows), MinimumEpochs, MaximumEpochs)
        : Trainer.Epochs;

    public VaeAnomalyDetectorOptions Clone() => new()
    {
        Model = Model.Clone(),
        Trainer = Trainer.Clone(),
        Score = Score,
        EvaluationSampleCount = EvaluationSampleCount,
        ScoringSeed = ScoringSeed,
        FeatureScaling = FeatureScaling,
        CalibrationFraction = CalibrationFraction,
        TargetFalsePositiveRate = TargetFalsePositiveRate,
        Contamination = Contamination,
        BackgroundPerturbationRate = BackgroundPerturbationRate,
        NeighbourCount = NeighbourCount,
        EnsembleSize = EnsembleSize,
        TrainingSteps = TrainingSteps,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Model is null) throw new ArgumentException($"{nameof(Model)} is null; set it to new VaeModelOptions() for the defaults.", nameof(Model));
        if (Trainer is null) throw new ArgumentException($"{nameof(Trainer)} is null; set it to new VaeTrainerOptions() for the defaults.", nameof(Trainer));
        Model.Validate();
        Trainer.Validate();
        Require(Enum.IsDefined(Score), nameof(Score), $"{(int)Score} is not a known score.");
        Require(Enum.IsDefined(FeatureScaling), nameof(FeatureScaling), $"{(int)FeatureScaling} is not a known scaling.");
        Require(EvaluationSampleCount >= 1, nameof(EvaluationSampleCount), $"must be at least 1 (got {EvaluationSampleCount}); 100 to 1000 give stable scores.");
        Require(CalibrationFraction > 0 && CalibrationFraction < 1, nameof(CalibrationFraction), $"must lie in (0, 1) (got {CalibrationFraction}): the threshold is calibrated on held-out rows.");
        Require(TargetFalsePositiveRate is null || Contamination is null, nameof(Contamination),
            "and TargetFalsePositiveRate are both set: set TargetFalsePositiveRate for clean normal data or Contamination for data holding anomalies, not both.");
        Require(TargetFalsePositiveRate is null or (> 0 and < 1), nameof(TargetFalsePositiveRate), $"must lie in (0, 1) (got {TargetFalsePositiveRate}).");
        Require(Contamination is null or (> 0 and < 1), nameof(Contamination), $"must lie in (0, 1) (got {Contamination}).");
        Require(BackgroundPerturbationRate > 0 && BackgroundPerturbationRate <= 1, nameof(BackgroundPerturbationRate), $"must lie in (0, 1] (got {BackgroundPerturbationRate}).");
        Require(NeighbourCount >= 1, nameof(NeighbourCount), $"must be at least 1 (got {NeighbourCount}).");
        Require(TrainingSteps is null or >= 1, nameof(TrainingSteps), $"must be at least 1 (got {TrainingSteps}), or null to train Trainer.Epochs epochs.");
        Require(EnsembleSize >= 1, nameof(EnsembleSize), $"must be at least 1 (got {EnsembleSize}); 1 trains a single model.");
        Require(FeatureScaling != FeatureScaling.Standardize || Model.Decoder == DecoderKind.Gaussian, nameof(FeatureScaling),
            "Standardize gives values outside [0, 1], which the Bernoulli decoder cannot model: use FeatureScaling.MinMax or DecoderKind.Gaussian.");
    }

    private static void Require(bool condition, string option, string message)
    {
        if (!condition) throw new ArgumentException($"{option} {message}", option);
    }
}
