using System.Globalization;
using Microsoft.ML.Vae.Anomaly;

namespace Microsoft.ML.Vae.TabularAnomalyBench;

/// <summary>
/// One IWAE detector configuration to benchmark, written as <c>key=value</c> pairs separated by commas, applied on top
/// of the recommended tabular settings (<see cref="VaeAnomalyDetectorOptions.ForTabularData"/>), or on top of the core's
/// <see cref="VaeAnomalyDetectorOptions"/> defaults when the text starts with <c>core</c>.
/// The recommended epochs follow the data's size (<see cref="VaeAnomalyDetectorOptions.TrainingSteps"/>);
/// <c>epochs=N</c> fixes them instead. Keys: decoder, learn-variance, variance, scaling, score, latent, hidden (e.g. 64x32), epochs, train-k, eval-k,
/// ensemble, lr, batch, init, neighbours, kl, steps (sets TrainingSteps).
/// </summary>
internal sealed record DetectorSettings(string Label, VaeAnomalyDetectorOptions Options)
{
    public static DetectorSettings Parse(string text)
    {
        var pairs = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        bool fromCore = pairs.Count > 0 && pairs[0] == "core";
        if (fromCore) pairs.RemoveAt(0);
        // The core defaults (Bernoulli decoder, no scaling) cannot take raw sensor values; MinMax is the least change that runs.
        var options = fromCore ? new VaeAnomalyDetectorOptions { FeatureScaling = FeatureScaling.MinMax } : VaeAnomalyDetectorOptions.ForTabularData();
        foreach (var pair in pairs)
        {
            int equals = pair.IndexOf('=');
            if (equals < 1) throw new ArgumentException($"Detector setting '{pair}' in '{text}' is not key=value.");
            string key = pair[..equals], value = pair[(equals + 1)..];
            bool known;
            try
            {
                known = Apply(options, key, value);
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw new ArgumentException($"Detector setting '{pair}' in '{text}': '{value}' is not a valid value for {key}.");
            }
            if (!known) throw new ArgumentException($"Unknown detector setting '{key}' in '{text}'; see DetectorSettings.cs for the keys.");
        }
        options.Validate();
        return new DetectorSettings(text.Length == 0 ? "recommended" : text, options);
    }

    /// <summary>Applies one setting; false when <paramref name="key"/> is not a known setting.</summary>
    private static bool Apply(VaeAnomalyDetectorOptions options, string key, string value)
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
            case "epochs": options.Trainer.Epochs = int.Parse(value, CultureInfo.InvariantCulture); options.TrainingSteps = null; return true;
            case "train-k": options.Trainer.SampleCount = int.Parse(value, CultureInfo.InvariantCulture); return true;
            case "eval-k": options.EvaluationSampleCount = int.Parse(value, CultureInfo.InvariantCulture); return true;
            case "ensemble": options.EnsembleSize = int.Parse(value, CultureInfo.InvariantCulture); return true;
            case "lr": options.Trainer.LearningRate = float.Parse(value, CultureInfo.InvariantCulture); return true;
            case "batch": options.Trainer.BatchSize = int.Parse(value, CultureInfo.InvariantCulture); return true;
            case "init": options.Trainer.Initialization = Enum.Parse<WeightInitialization>(value, ignoreCase: true); return true;
            case "neighbours": options.NeighbourCount = int.Parse(value, CultureInfo.InvariantCulture); return true;
            case "kl": options.Trainer.AnalyticKl = bool.Parse(value); return true;
            case "steps": options.TrainingSteps = int.Parse(value, CultureInfo.InvariantCulture); return true;
            default: return false;
        }
    }

    /// <summary>The same settings with the trainer seed of one benchmark repetition.</summary>
    public VaeAnomalyDetectorOptions ForRun(int seed)
    {
        var options = Options.Clone();
        options.Trainer.Seed = seed;
        return options;
    }
}
