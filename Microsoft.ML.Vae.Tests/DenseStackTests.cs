using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public sealed class DenseStackTests
{
    [TestMethod]
    [DataRow(1, TrainingObjective.Iwae, 1)]
    [DataRow(8, TrainingObjective.Iwae, 1)]
    [DataRow(8, TrainingObjective.Miwae, 8)]
    public void GradientsDoNotDependOnTheThreadCount(int sampleCount, TrainingObjective objective, int groups)
    {
        // Large enough that the products take several workers and the backward pass runs a layer's weight and input
        // gradients side by side (the decoder's output layer: 128 sample rows × 200 × 784 multiply-adds), with and
        // without importance weights on the rows. One thread runs everything in order; the results must be the same.
        var options = new VaeModelOptions { HiddenSizes = [200], LatentSize = 20, Activation = Activation.Tanh };
        const int rows = 16, features = 784;
        var x = TestData.Clusters(rows, features, seed: 4);
        var layout = new ParameterLayout(options, features);
        var parameters = TestData.RandomParameters(layout, seed: 5);
        var noise = TestData.Normal(rows * sampleCount * layout.LatentSize, seed: 6);
        var settings = new ObjectiveSettings(AnalyticKl: false) { Objective = objective, Groups = groups };

        (float[] Bounds, float[] Gradient) Run(int threads)
        {
            using var backend = new ManagedBackend(layout, threads);
            backend.SetParameters(parameters);
            var (bounds, gradient) = (new float[rows], new float[layout.Count]);
            backend.Gradient(x.Values, rows, noise, sampleCount, settings, bounds, gradient);
            return (bounds, gradient);
        }

        var sequential = Run(1);
        Assert.IsTrue(sequential.Gradient.Count(g => g != 0) > layout.Count / 2, "most of the gradient should be non-zero");
        foreach (int threads in new[] { 2, 3, 4 })
        {
            var parallel = Run(threads);
            CollectionAssert.AreEqual(sequential.Bounds, parallel.Bounds, $"bounds, {threads} threads");
            CollectionAssert.AreEqual(sequential.Gradient, parallel.Gradient, $"gradient, {threads} threads");
        }
    }
}
