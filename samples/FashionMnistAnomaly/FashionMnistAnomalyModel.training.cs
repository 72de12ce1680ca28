// Training: the detector's options and the code that fits and saves it, like ML.NET Model Builder's generated
// <Model>.training.cs.
using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Anomaly;

namespace FashionMnistAnomaly;

public partial class FashionMnistAnomalyModel
{
    /// <summary>
    /// The 784-200-200-50 tanh VAE with a Gaussian decoder that learns one variance per pixel (the raw likelihood of
    /// a Bernoulli decoder on grey images ranks simple images as likely whatever they show), trained as an IWAE with
    /// K = 5; the threshold flags 5% of held-out normal images.
    /// </summary>
    public static VaeAnomalyDetectorOptions BuildOptions(int epochs, AnomalyScoreKind score) => new()
    {
        Model = new VaeModelOptions { Decoder = DecoderKind.Gaussian, LearnDecoderVariance = true, DecoderVariance = MathF.Exp(-2) },
        Trainer = new VaeTrainerOptions { Epochs = epochs, SampleCount = 5, Seed = 1 },
        Score = score,
        EvaluationSampleCount = 50,
        CalibrationFraction = 0.1,
        TargetFalsePositiveRate = 0.05,
    };

    /// <summary>Fits the detector on images of the normal class and saves it to <see cref="ModelPath"/>.</summary>
    public static VaeAnomalyDetector Train(FeatureMatrix normalImages, VaeAnomalyDetectorOptions options, IProgress<AnomalyProgress>? progress = null)
    {
        var detector = new VaeAnomalyTrainer(options).Fit(normalImages, progress);
        Directory.CreateDirectory(Path.GetDirectoryName(ModelPath)!);
        detector.Save(ModelPath);
        return detector;
    }
}
