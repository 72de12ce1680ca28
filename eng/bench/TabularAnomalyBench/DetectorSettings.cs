using System.Globalization;
using Microsoft.ML.Vae.Anomaly;

namespace Microsoft.ML.Vae.TabularAnomalyBench;

/// <summary>
/// One IWAE detector configuration to benchmark, written as <c>key=value</c> pairs separated by commas, applied on top
/// of the recommended tabular settings (<see cref="Recommended"/>), or on top of the core's
/// <see cref="VaeAnomalyDetectorOptions"/> defaults when the text starts with <c>core</c>.
/// The recommended epochs follow the data's size (<see cref="EpochsFor"/> with <see cref="RecommendedTargetSteps"/>);
/// <c>epochs=N</c> fixes them instead. Keys: decoder, learn-variance, variance, scaling, score, latent, hidden (e.g. 64x32), epochs, train-k, eval-k,
/// ensemble, lr, batch, init, neighbours, kl, steps (sets the epochs per data set by <see cref="EpochsFor"/>).
/// </summary>
internal sealed record DetectorSettings(string Label, VaeAnomalyDetectorOptions Options, int? TargetSteps)
{
    /// <summary>Epoch bounds of <see cref="EpochsFor"/>: at least a few passes over large data, at most a few seconds on small data.</summary>
    public const int MinimumEpochs = 10, MaximumEpochs = 200;

    /// <summary>Optimiser steps the recommended settings aim for (the learned decoder variance needs about this many to settle).</summary>
    public const int RecommendedTargetSteps = 2000;

    /// <summary>
    /// The epochs that give about <paramref name="targetSteps"/> optimiser steps on <paramref name="trainingRows"/>
    /// rows, within [<see cref="MinimumEpochs"/>, <see cref="MaximumEpochs"/>].
    /// </summary>
    public static int EpochsFor(int targetSteps, int batchSize, int trainingRows) =>
        Math.Clamp((int)Math.Ceiling(targetSteps * (double)batchSize / trainingRows), MinimumEpochs, MaximumEpochs);

    /// <summary>The settings this benchmark recommends as the defaults for tabular data (docs/tabular-anomaly.md).</summary>
    public static VaeAnomalyDetectorOptions Recommended() => new()
    {
        Model = new VaeModelOptions { HiddenSizes = [64, 64], LatentSize = 16, Decoder = DecoderKind.Gaussian, LearnDecoderVariance = true, DecoderVariance = 1f },
        Trainer = new VaeTrainerOptions { SampleCount = 5, BatchSize = 100, LearningRate = 3e-3f },
        FeatureScaling = FeatureScaling.Standardize,
        Score = AnomalyScoreKind.NegativeLogLikelihood,
        EvaluationSampleCount = 100,
    };

    public static DetectorSettings Parse(string text)
    {
        var pairs = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        bool fromCore = pairs.Count > 0 && pairs[0] == "core";
        if (fromCore) pairs.RemoveAt(0);
        // The core defaults (Bernoulli decoder, no scaling) cannot take raw sensor values; MinMax is the least change that runs.
        var options = fromCore ? new VaeAnomalyDetectorOptions { FeatureScaling = FeatureScaling.MinMax } : Recommended();
        int? targetSteps = fromCore ? null : RecommendedTargetSteps;
        foreach (var pair in pairs)
        {
            int equals = pair.IndexOf('=');
            if (equals < 1) throw new ArgumentException($"Detector setting '{pair}' in '{text}' is not key=value.");
            string key = pair[..equals], value = pair[(equals + 1)..];
            bool known;
            try
            {
                known = Apply(options, key, value, ref targetSteps);
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw new ArgumentException($"Detector setting '{pair}' in '{text}': '{value}' is not a valid value for {key}.");
            }
            if (!known) throw new ArgumentException($"Unknown detector setting '{key}' in '{text}'; see DetectorSettings.cs for the keys.");
        }
        options.Validate();
        return new DetectorSettings(text.Length == 0 ? "recommended" : text, options, targetSteps);
    }

    /// <summary>Applies one setting; false when <paramref name="key"/> is not a known setting.</summary>
    private static bool Apply(VaeAnomalyDetectorOptions options, string key, string value, ref int? targetSteps)
    {
        switch (key)
        {
            case "decoder": options.Model.Decoder = Enum.Parse<DecoderKind>(value, ignoreCase: true); return true;
            case "learn-variance": options.Model.LearnDecoderVariance = bool.Parse(value); return true;
            case "variance": options.Model.DecoderVariance = float.Parse(value, CultureInfo.InvariantCulture); return true;
            case "scaling": options.FeatureScaling = Enum.Parse<FeatureScaling>(value, ignoreCase: true); return true;
            case "score": options.Score = Enum.Parse<AnomalyScoreKind>(value, ignoreCase: true); return true;
            case "latent": options.Model.LatentSize = int.Parse(value, CultureInfo.InvariantCulture); return true;
            case "hidden": options.Model.HiddenSizes = value.Split('x').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); return true;
            case "epochs": options.Trainer.Epochs = int.Parse(value, CultureInfo.InvariantCulture); targetSteps = null; return true;
            case "train-k": options.Trainer.SampleCount = int.Parse(value, CultureInfo.InvariantCulture); return true;
            case "eval-k": options.EvaluationSampleCount = int.Parse(value, CultureInfo.InvariantCulture); return true;
            case "ensemble": options.EnsembleSize = int.Parse(value, CultureInfo.InvariantCulture); return true;
            case "lr": options.Trainer.LearningRate = float.Parse(value, CultureInfo.InvariantCulture); return true;
            case "batch": options.Trainer.BatchSize = int.Parse(value, CultureInfo.InvariantCulture); return true;
            case "init": options.Trainer.Initialization = Enum.Parse<WeightInitialization>(value, ignoreCase: true); return true;
            case "neighbours": options.NeighbourCount = int.Parse(value, CultureInfo.InvariantCulture); return true;
            case "kl": options.Trainer.AnalyticKl = bool.Parse(value); return true;
            case "steps": targetSteps = int.Parse(value, CultureInfo.InvariantCulture); return true;
            default: return false;
        }
    }

    /// <summary>The same settings with the trainer seed of one benchmark repetition, and the epochs for the data's size.</summary>
    public VaeAnomalyDetectorOptions ForRun(int seed, int rows)
    {
        var options = Options.Clone();
        options.Trainer.Seed = seed;
        int trainingRows = rows - (int)Math.Round(rows * options.CalibrationFraction);
        if (TargetSteps is { } steps) options.Trainer.Epochs = EpochsFor(steps, options.Trainer.BatchSize, trainingRows);
        return options;
    }
}
