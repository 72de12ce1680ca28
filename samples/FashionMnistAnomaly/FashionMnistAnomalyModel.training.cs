// Training: the detector's options and the code that fits and saves it, like ML.NET Model Builder's generated
// <Model>.training.cs.
using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Anomaly;

namespace FashionMnistAnomaly;

public partial class FashionMnistAnomalyModel
{
    /// <summary>
    /// The 784-200-200-50 tanh VAE with a Gaussian decoder that learns one variance per pixel (the raw likelihood of
    /// a Bernoulli decoder on grey images ranks simple images as likely whatever they show); the threshold flags 5%
    /// of held-out normal images. For the latent-neighbour score, the recipe measured best in docs/anomaly.md: an
    /// ensemble of three ELBO-trained models (K = 1) with the decoder variance starting at 1 and PyTorch-style
    /// fan-in initialisation, 20 neighbours; for the likelihood scores, one IWAE (K = 5) with the variance starting
    /// at e^-2.
    /// </summary>
    public static VaeAnomalyDetectorOptions BuildOptions(int epochs, AnomalyScoreKind score)
    {
        bool neighbours = score == AnomalyScoreKind.LatentNeighbourDistance;
        return new()
        {
            Model = new VaeModelOptions { Decoder = DecoderKind.Gaussian, LearnDecoderVariance = true, DecoderVariance = neighbours ? 1f : MathF.Exp(-2) },
            Trainer = new VaeTrainerOptions
            {
                Epochs = epochs,
                SampleCount = neighbours ? 1 : 5,
                Initialization = neighbours ? WeightInitialization.FanInUniform : WeightInitialization.Glorot,
                Seed = 1,
            },
            Score = score,
            NeighbourCount = 20,
            EnsembleSize = neighbours ? 3 : 1,
            EvaluationSampleCount = 50,
            CalibrationFraction = 0.1,
            TargetFalsePositiveRate = 0.05,
        };
    }

    /// <summary>Fits the detector on images of the normal class and saves it to <see cref="ModelPath"/>.</summary>
    public static VaeAnomalyDetector Train(FeatureMatrix normalImages, VaeAnomalyDetectorOptions options, IProgress<AnomalyProgress>? progress = null)
    {
        var detector = new VaeAnomalyTrainer(options).Fit(normalImages, progress);
        Directory.CreateDirectory(Path.GetDirectoryName(ModelPath)!);
        detector.Save(ModelPath);
        return detector;
    }
}
