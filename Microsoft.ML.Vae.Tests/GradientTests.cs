using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>Finite-difference checks of every differentiable piece of the managed engine.</summary>
[TestClass]
public sealed class GradientTests
{
    public static IEnumerable<object[]> Cases() => TestData.EngineCases();

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void AnalyticGradientMatchesFiniteDifferences(Activation activation, DecoderKind decoder, bool learnVariance, int k, bool analyticKl)
    {
        var options = TestData.SmallOptions(decoder, activation, learnVariance);
        const int rows = 3;
        var x = TestData.Clusters(rows, 7, seed: 1);
        var layout = new ParameterLayout(options, x.Columns);
        var parameters = TestData.RandomParameters(layout, seed: 2);
        var noise = TestData.Normal(rows * k * layout.LatentSize, seed: 3);
        // Two workers: the row-parallel paths of the engine are differenced too.
        FiniteDifference.AssertMatches(layout, parameters, x, noise, k, new ObjectiveSettings(analyticKl), threads: 2);
    }
}
