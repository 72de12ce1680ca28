// Training: the model's options and the code that trains and saves it, like ML.NET Model Builder's generated
// <Model>.training.cs.
using Microsoft.ML.Vae;

namespace FashionMnistEmbeddings;

public partial class FashionMnistEmbeddingsModel
{
    /// <summary>Burda et al.'s 784-200-200-50 tanh model with a Bernoulli decoder on the grey values, trained as an IWAE with K = 5.</summary>
    public static (VaeModelOptions Model, VaeTrainerOptions Trainer) BuildOptions(int epochs) =>
        (new VaeModelOptions(), new VaeTrainerOptions { Epochs = epochs, SampleCount = 5, Seed = 1, ValidationFraction = 0.1 });

    /// <summary>Trains on <paramref name="images"/> and saves the model to <see cref="ModelPath"/>.</summary>
    public static VaeModel Train(FeatureMatrix images, int epochs, IProgress<TrainingProgress>? progress = null)
    {
        var (model, trainer) = BuildOptions(epochs);
        var trained = new VaeTrainer(model, trainer).Fit(images, progress);
        Directory.CreateDirectory(Path.GetDirectoryName(ModelPath)!);
        trained.Save(ModelPath);
        return trained;
    }
}
