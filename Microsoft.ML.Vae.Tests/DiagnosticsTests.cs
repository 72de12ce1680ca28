using Microsoft.ML.Vae.Diagnostics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// KL per latent variable and active units on models whose posterior is set by hand: a linear encoder where only
/// dimension 0 depends on the input (μ_0 = 2·x_0), the others are constant.
/// </summary>
[TestClass]
public sealed class DiagnosticsTests
{
    private const int Features = 3;
    private static readonly float[] ConstantMean = [0, 0.3f, -0.2f];
    private static readonly float[] LogVariance = [-1f, 0f, 0.5f];

    private static VaeModel HandSetModel(PriorKind prior, Action<ParameterLayout, float[]>? adjust = null, int pseudoInputs = 1)
    {
        var options = new VaeModelOptions
        {
            HiddenSizes = [Features], DecoderHiddenSizes = [2], LatentSize = 3, Activation = Activation.Identity,
            Decoder = DecoderKind.Gaussian, Prior = prior, PseudoInputCount = pseudoInputs,
        };
        var layout = new ParameterLayout(options, Features);
        var p = layout.Initialize(new Mathematics.RandomSource(1));
        var encoder = layout.Find("enc.0.W");
        p.AsSpan(encoder.Offset, encoder.Length).Clear();
        for (int f = 0; f < Features; f++) p[encoder.Offset + f * Features + f] = 1;
        foreach (var name in new[] { "enc.mu.W", "enc.logvar.W" }) p.AsSpan(layout.Find(name).Offset, layout.Find(name).Length).Clear();
        p[layout.Find("enc.mu.W").Offset] = 2; // μ_0 = 2·x_0
        ConstantMean.CopyTo(p.AsSpan(layout.Find("enc.mu.b").Offset));
        LogVariance.CopyTo(p.AsSpan(layout.Find("enc.logvar.b").Offset));
        adjust?.Invoke(layout, p);
        return new VaeModel(options, layout, p, [], threads: 1);
    }

    private static FeatureMatrix Data(int rows) => new(TestData.Normal(rows * Features, seed: 3).Select(v => 0.5f * v).ToArray(), rows, Features);

    private static double GaussianKl(double mean, double logVariance, double priorMean, double priorLogVariance) =>
        0.5 * (priorLogVariance - logVariance + (Math.Exp(logVariance) + (mean - priorMean) * (mean - priorMean)) * Math.Exp(-priorLogVariance) - 1);

    [TestMethod]
    public void KlPerDimensionAndActiveUnitsUnderTheStandardPrior()
    {
        var x = Data(200);
        using var model = HandSetModel(PriorKind.Standard);
        var diagnostics = LatentDiagnostics.Compute(model, x);

        var mean0 = Enumerable.Range(0, x.Rows).Select(r => 2.0 * x.Values[r * Features]).ToArray();
        double average = mean0.Average();
        Assert.AreEqual(mean0.Average(m => (m - average) * (m - average)), diagnostics.PosteriorMeanVariance[0], 1e-4);
        Assert.AreEqual(0, diagnostics.PosteriorMeanVariance[1], 1e-9);
        Assert.AreEqual(1, diagnostics.ActiveUnits, "only dimension 0 varies with x");
        Assert.AreEqual(mean0.Average(m => GaussianKl(m, LogVariance[0], 0, 0)), diagnostics.KlPerVariable[0], 1e-4);
        for (int j = 1; j < 3; j++) Assert.AreEqual(GaussianKl(ConstantMean[j], LogVariance[j], 0, 0), diagnostics.KlPerVariable[j], 1e-5, $"dimension {j}");

        var strict = LatentDiagnostics.Compute(model, x, activityThreshold: 10);
        Assert.AreEqual(0, strict.ActiveUnits, "no dimension varies by more than 10");
    }

    [TestMethod]
    public void KlIsTakenToTheLearnedPrior()
    {
        var x = Data(50);
        float[] priorMean = [0.5f, -1f, 0.2f], priorLogVariance = [0.3f, -0.2f, 1f];
        using var model = HandSetModel(PriorKind.LearnedGaussian, (layout, p) =>
        {
            priorMean.CopyTo(p.AsSpan(layout.Find("prior.mu").Offset));
            priorLogVariance.CopyTo(p.AsSpan(layout.Find("prior.logvar").Offset));
        });
        var diagnostics = LatentDiagnostics.Compute(model, x);
        for (int j = 1; j < 3; j++)
            Assert.AreEqual(GaussianKl(ConstantMean[j], LogVariance[j], priorMean[j], priorLogVariance[j]), diagnostics.KlPerVariable[j], 1e-5, $"dimension {j}");
    }

    [TestMethod]
    public void VampKlMatchesTheClosedFormForOnePseudoInput()
    {
        // With one pseudo-input u the VampPrior is the Gaussian q(z|u): the Monte Carlo KL must agree with the closed form.
        var x = Data(400);
        float[] pseudoInput = [0.4f, -0.3f, 0.1f];
        using var model = HandSetModel(PriorKind.Vamp, (layout, p) => pseudoInput.CopyTo(p.AsSpan(layout.Find("prior.pseudo").Offset)));
        var diagnostics = LatentDiagnostics.Compute(model, x, seed: 5);
        double[] componentMean = [2 * pseudoInput[0], ConstantMean[1], ConstantMean[2]];
        for (int j = 0; j < 3; j++)
        {
            double expected = Enumerable.Range(0, x.Rows).Average(r =>
                GaussianKl(j == 0 ? 2.0 * x.Values[r * Features] : ConstantMean[j], LogVariance[j], componentMean[j], LogVariance[j]));
            Assert.AreEqual(expected, diagnostics.KlPerVariable[j], 0.02 + 0.05 * expected, $"dimension {j}");
        }
    }

    [TestMethod]
    public void VampKlIsTakenToTheMixtureOfSeveralPseudoInputs()
    {
        // Three pseudo-inputs. In dimensions 1 and 2 the encoder ignores x, so q(z_j|x) and all three components are
        // the same Gaussian and the KL to their mixture is exactly 0 (an unnormalised mixture would give −log 3).
        // In dimension 0 the components are N(2·u_c0, e^{-1}): the KL is checked against quadrature.
        var x = Data(200);
        float[][] pseudoInputs = [[0.4f, -0.3f, 0.1f], [-0.8f, 0.2f, 0.5f], [1.1f, 0f, -0.4f]];
        using var model = HandSetModel(PriorKind.Vamp, (layout, p) =>
        {
            for (int c = 0; c < 3; c++) pseudoInputs[c].CopyTo(p.AsSpan(layout.Find("prior.pseudo").Offset + c * Features));
        }, pseudoInputs: 3);
        var diagnostics = LatentDiagnostics.Compute(model, x, seed: 5);
        for (int j = 1; j < 3; j++) Assert.AreEqual(0, diagnostics.KlPerVariable[j], 1e-9, $"dimension {j}");

        double v = Math.Exp(LogVariance[0]);
        double LogNormal(double z, double m) => -0.5 * ((z - m) * (z - m) / v + Math.Log(2 * Math.PI * v));
        double expected = Enumerable.Range(0, x.Rows).Average(r =>
        {
            double mu = 2.0 * x.Values[r * Features], sum = 0, step = 1e-3;
            for (double z = mu - 10 * Math.Sqrt(v); z <= mu + 10 * Math.Sqrt(v); z += step)
            {
                double mixture = pseudoInputs.Average(u => Math.Exp(LogNormal(z, 2.0 * u[0])));
                sum += Math.Exp(LogNormal(z, mu)) * (LogNormal(z, mu) - Math.Log(mixture)) * step;
            }
            return sum;
        });
        Assert.AreEqual(expected, diagnostics.KlPerVariable[0], 0.02 + 0.05 * expected, "dimension 0");
    }

    [TestMethod]
    public void CategoricalKlIsTakenToTheUniformPrior()
    {
        var options = new VaeModelOptions { HiddenSizes = [4], LatentSize = 2, Latent = LatentKind.Categorical, CategoryCount = 3, Decoder = DecoderKind.Gaussian };
        var layout = new ParameterLayout(options, Features);
        var p = TestData.RandomParameters(layout, seed: 4);
        var x = Data(30);
        using var model = new VaeModel(options, layout, p, [], threads: 1);
        var diagnostics = LatentDiagnostics.Compute(model, x);
        var probabilities = model.Embed(x);
        for (int g = 0; g < 2; g++)
        {
            double expected = Enumerable.Range(0, x.Rows).Average(r =>
                Enumerable.Range(0, 3).Sum(i => { double q = probabilities.Values[r * 6 + g * 3 + i]; return q * Math.Log(3 * q); }));
            Assert.AreEqual(expected, diagnostics.KlPerVariable[g], 1e-5, $"variable {g}");
        }
        Assert.AreEqual(6, diagnostics.PosteriorMeanVariance.Count);
    }

    [TestMethod]
    public void BadThresholdIsRejected()
    {
        using var model = HandSetModel(PriorKind.Standard);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LatentDiagnostics.Compute(model, Data(5), activityThreshold: double.NaN));
    }
}
