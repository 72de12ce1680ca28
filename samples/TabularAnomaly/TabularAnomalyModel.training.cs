// Training: reading the CSV, the detector's options, fitting and saving, like ML.NET Model Builder's generated
// <Model>.training.cs.
using System.Globalization;
using CsvHelper;
using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Anomaly;

namespace TabularAnomaly;

public partial class TabularAnomalyModel
{
    /// <summary>Reads every row of a CSV with the <see cref="ModelInput"/> columns.</summary>
    public static List<ModelInput> LoadRows(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No data file at '{Path.GetFullPath(path)}'.", path);
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        return csv.GetRecords<ModelInput>().ToList();
    }

    public static FeatureMatrix ToFeatures(IReadOnlyList<ModelInput> rows) => FeatureMatrix.FromRows(rows.Select(r => r.Features()).ToArray());

    /// <summary>
    /// A small VAE (6-32-16-3) with a Gaussian decoder that learns one variance per feature, on standardised features.
    /// The training rows are not cleaned: <paramref name="contamination"/> is their expected anomaly fraction, and the
    /// threshold flags that fraction of the held-out rows.
    /// </summary>
    public static VaeAnomalyDetectorOptions BuildOptions(int epochs, double contamination) => new()
    {
        Model = new VaeModelOptions { HiddenSizes = [32, 16], LatentSize = 3, Decoder = DecoderKind.Gaussian, LearnDecoderVariance = true, DecoderVariance = 0.5f },
        Trainer = new VaeTrainerOptions { Epochs = epochs, SampleCount = 5, BatchSize = 50, LearningRate = 3e-3f, Seed = 1 },
        FeatureScaling = FeatureScaling.Standardize,
        Score = AnomalyScoreKind.NegativeLogLikelihood,
        EvaluationSampleCount = 200,
        CalibrationFraction = 0.2,
        Contamination = contamination,
    };

    public static VaeAnomalyDetector Train(IReadOnlyList<ModelInput> rows, VaeAnomalyDetectorOptions options, IProgress<AnomalyProgress>? progress = null)
    {
        var detector = new VaeAnomalyTrainer(options).Fit(ToFeatures(rows), progress);
        Directory.CreateDirectory(Path.GetDirectoryName(ModelPath)!);
        detector.Save(ModelPath);
        return detector;
    }
}
