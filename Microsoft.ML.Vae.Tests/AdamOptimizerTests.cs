using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public sealed class AdamOptimizerTests
{
    [TestMethod]
    public void StepsFollowTheAdamUpdateAndLeaveTheGradientZero()
    {
        // 40,000 values: whole vectors, chunks for several workers and a ragged end.
        const int count = 40_003;
        var random = new Random(3);
        float[] start = Enumerable.Range(0, count).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        float[][] gradients = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, count).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray()).ToArray();
        float[] Run(int threads)
        {
            var adam = new AdamOptimizer(count, threads);
            float[] parameters = start.ToArray();
            for (int step = 1; step <= 3; step++)
            {
                float[] gradient = gradients[step - 1].ToArray();
                adam.Step(parameters, gradient, new AdamSettings(1e-2f, 0.9f, 0.999f, 1e-8f, step));
                Assert.IsTrue(gradient.All(g => g == 0), $"step {step}: the gradient must be left zero");
            }
            return parameters;
        }

        float[] one = Run(1);
        CollectionAssert.AreEqual(one, Run(3), "the update of an element must not depend on the split");
        // Against the update in double precision.
        for (int i = 0; i < count; i += 997)
        {
            double m = 0, v = 0, theta = start[i];
            for (int t = 1; t <= 3; t++)
            {
                double g = gradients[t - 1][i];
                m = 0.9 * m + 0.1 * g;
                v = 0.999 * v + 0.001 * g * g;
                theta -= 1e-2 * (m / (1 - Math.Pow(0.9, t))) / (Math.Sqrt(v / (1 - Math.Pow(0.999, t))) + 1e-8);
            }
            Assert.AreEqual(theta, one[i], 1e-6, $"element {i}");
        }
    }

    [TestMethod]
    public void ATrainingStepAfterAPlainGradientStartsFromZero()
    {
        // Gradient() leaves the engine's gradient vector full and TrainStep() leaves it zero (Adam clears it); the
        // next call must accumulate from zero either way: train, gradient, train equals train, train on a fresh engine.
        var layout = new ParameterLayout(TestData.SmallOptions(), 7);
        var parameters = TestData.RandomParameters(layout, seed: 8);
        var x = TestData.Clusters(4, 7, seed: 9);
        var noise = TestData.Normal(4 * 2 * layout.LatentSize, seed: 10);
        var objective = new ObjectiveSettings(AnalyticKl: false);
        float[] Train(bool gradientBetween)
        {
            using var backend = new ManagedBackend(layout, threads: 2);
            backend.SetParameters(parameters);
            var bounds = new float[4];
            backend.TrainStep(x.Values, 4, noise, 2, objective, new AdamSettings(1e-2f, 0.9f, 0.999f, 1e-8f, 1), bounds);
            if (gradientBetween) backend.Gradient(x.Values, 4, noise, 2, objective, bounds, new float[layout.Count]);
            backend.TrainStep(x.Values, 4, noise, 2, objective, new AdamSettings(1e-2f, 0.9f, 0.999f, 1e-8f, 2), bounds);
            var result = new float[layout.Count];
            backend.GetParameters(result);
            return result;
        }

        CollectionAssert.AreEqual(Train(gradientBetween: false), Train(gradientBetween: true));
    }
}
