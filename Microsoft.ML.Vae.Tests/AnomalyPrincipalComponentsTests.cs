using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public class AnomalyPrincipalComponentsTests
{
    [TestMethod]
    public void RecoversTheDirectionsAndVariancesOfKnownData()
    {
        // Rows = mean + 3·a·u + 2·b·v + 0.05·noise, with orthonormal u, v and unit-variance a, b.
        const int n = 4000, d = 9;
        var random = new RandomSource(2, 1);
        var u = new double[d];
        var v = new double[d];
        for (int i = 0; i < d; i++) { u[i] = i < 3 ? 1 / Math.Sqrt(3) : 0; v[i] = i >= 3 && i < 7 ? (i % 2 == 0 ? 0.5 : -0.5) : 0; }
        var values = new float[n * d];
        var draws = new float[3 + d];
        for (int r = 0; r < n; r++)
        {
            random.FillNormal(draws);
            for (int i = 0; i < d; i++) values[r * d + i] = (float)(i + 3 * draws[0] * u[i] + 2 * draws[1] * v[i] + 0.05 * draws[3 + i]);
        }
        var data = new FeatureMatrix(values, n, d);

        var pca = PrincipalComponents.Fit(data, 2);

        Assert.AreEqual(9.0, pca.ExplainedVariance[0], 0.6);
        Assert.AreEqual(4.0, pca.ExplainedVariance[1], 0.3);
        var axes = pca.Transform(new FeatureMatrix([.. Enumerable.Range(0, d).Select(i => (float)(i + u[i])), .. Enumerable.Range(0, d).Select(i => (float)(i + v[i]))], 2, d));
        Assert.AreEqual(1.0, Math.Abs(axes.Values[0]), 0.02, "the first component is u");
        Assert.AreEqual(0.0, axes.Values[1], 0.02);
        Assert.AreEqual(1.0, Math.Abs(axes.Values[3]), 0.02, "the second component is v");

        // A point in the plane reconstructs exactly; one off it by 1 along a third direction has error 1.
        var off = new float[d];
        for (int i = 0; i < d; i++) off[i] = (float)(i + 2 * u[i] - v[i]);
        var inPlane = (float[])off.Clone();
        off[8] += 1;
        var errors = pca.ReconstructionError(new FeatureMatrix([.. inPlane, .. off], 2, d));
        Assert.AreEqual(0.0, errors[0], 0.01);
        Assert.AreEqual(1.0, errors[1], 0.02);
    }

    [TestMethod]
    public void BadArgumentsAreRejected()
    {
        var data = TestData.Clusters(10, 4, 1);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => PrincipalComponents.Fit(data, 5));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => PrincipalComponents.Fit(data, 0));
        var pca = PrincipalComponents.Fit(data, 2);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => pca.Transform(TestData.Clusters(3, 5, 1))).Message, "fitted on 4");
    }
}
