using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.LibTorch;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// The two float32 engines (managed, libtorch) beside libtorch computing in float64, the exact reference, all holding
/// the same parameters. Each float32 engine's distance from the reference is its rounding error on the quantity, so
/// the tolerance of a comparison comes from that error rather than from a constant: see <see cref="AssertAgree"/>.
/// </summary>
internal sealed class EngineTrio : IDisposable
{
    /// <summary>The float32 unit roundoff, 2^-24.</summary>
    private const double UnitRoundoff = 1.0 / (1 << 24);

    /// <summary>
    /// How much further from the exact value one float32 engine may be than the other. Both round the same operations
    /// (in other orders and, for a few functions, by other formulas), so their errors are of one size; a wrong formula
    /// is off by far more than rounding, typically by orders of magnitude.
    /// </summary>
    private const double ErrorRatio = 10;

    /// <summary>
    /// Errors below this many units in the last place of the tensor's largest value count as this size: a result can
    /// be all but exact on one engine by luck (and storing a float64 result as float32 alone costs half a unit).
    /// </summary>
    private const double ErrorFloorUlps = 8;

    public EngineTrio(ParameterLayout layout, float[] parameters)
    {
        Layout = layout;
        Managed = new ManagedBackend(layout, threads: 2);
        LibTorch = new LibTorchBackend(LibTorchLibrary.Shared, layout, threads: 1, device: "cpu", fallbackToCpu: false);
        Reference = new LibTorchBackend(LibTorchLibrary.Shared, layout, threads: 1, device: "cpu", fallbackToCpu: false, float64: true);
        SetParameters(parameters);
    }

    public ParameterLayout Layout { get; }

    public IVaeBackend Managed { get; }

    public IVaeBackend LibTorch { get; }

    public IVaeBackend Reference { get; }

    public void SetParameters(float[] parameters)
    {
        Managed.SetParameters(parameters);
        LibTorch.SetParameters(parameters);
        Reference.SetParameters(parameters);
    }

    /// <summary>
    /// Computes a quantity on each engine and asserts that the two float32 results agree (<see cref="AssertAgree"/>);
    /// returns the reference's. With <paramref name="byTensor"/> each parameter tensor of the layout is judged alone.
    /// </summary>
    public float[] AssertAgree(string what, Func<IVaeBackend, float[]> compute, bool byTensor = false)
    {
        var results = Engines.Select(compute).ToArray();
        AssertAgree(what, results[0], results[1], results[2], byTensor ? Layout : null);
        return results[0];
    }

    /// <summary>Per-row bounds and the loss gradient on each engine; asserts they agree and returns the reference's bounds.</summary>
    public float[] AssertGradientsAgree(float[] x, int rows, float[] noise, int sampleCount, ObjectiveSettings objective)
    {
        var results = Engines.Select(engine =>
        {
            var (bounds, gradient) = (new float[rows], new float[Layout.Count]);
            engine.Gradient(x, rows, noise, sampleCount, objective, bounds, gradient);
            return (Bounds: bounds, Gradient: gradient);
        }).ToArray();
        AssertAgree("bound", results[0].Bounds, results[1].Bounds, results[2].Bounds);
        Assert.IsTrue(results[0].Gradient.Any(g => g != 0), "the reference gradient should not vanish");
        AssertAgree("gradient", results[0].Gradient, results[1].Gradient, results[2].Gradient, Layout);
        return results[0].Bounds;
    }

    /// <summary>Posterior means and log-variances on each engine; asserts they agree.</summary>
    public void AssertEncodingsAgree(float[] x, int rows)
    {
        int n = rows * Layout.LatentSize;
        var results = Engines.Select(engine =>
        {
            var (mean, logVariance) = (new float[n], new float[n]);
            engine.Encode(x, rows, mean, logVariance);
            return (Mean: mean, LogVariance: logVariance);
        }).ToArray();
        AssertAgree("mean", results[0].Mean, results[1].Mean, results[2].Mean);
        AssertAgree("log-variance", results[0].LogVariance, results[1].LogVariance, results[2].LogVariance);
    }

    /// <summary>
    /// Adam steps (lr 1e-2) on each engine from the current parameters, with fresh noise per step: the bounds before
    /// each step and the parameters after the last agree, and the steps did move the parameters.
    /// </summary>
    public void AssertAdamStepsAgree(FeatureMatrix x, int sampleCount, int noiseSeed, int steps, Func<int, ObjectiveSettings> objectiveAtStep)
    {
        var start = new float[Layout.Count];
        Reference.GetParameters(start);
        var noiseSource = new Mathematics.RandomSource(noiseSeed, 1);
        var noise = new float[x.Rows * sampleCount * Layout.LatentSize];
        for (int step = 1; step <= steps; step++)
        {
            noiseSource.FillLatentNoise(noise, Layout.Latent);
            var objective = objectiveAtStep(step);
            var adam = new AdamSettings(LearningRate: 1e-2f, Beta1: 0.9f, Beta2: 0.999f, Epsilon: 1e-4f, Step: step);
            AssertAgree($"bound before step {step}", engine =>
            {
                var bounds = new float[x.Rows];
                engine.TrainStep(x.Values, x.Rows, noise, sampleCount, objective, adam, bounds);
                return bounds;
            });
        }
        var moved = AssertAgree($"parameters after {steps} Adam steps", engine =>
        {
            var parameters = new float[Layout.Count];
            engine.GetParameters(parameters);
            return parameters;
        }, byTensor: true);
        Assert.IsTrue(moved.Zip(start).Max(p => Math.Abs(p.First - p.Second)) > 0.02, "steps of 1e-2 should move the parameters");
    }

    /// <summary>The reference first: the order of the results of <see cref="AssertGradientsAgree"/> and its kind.</summary>
    private IVaeBackend[] Engines => [Reference, Managed, LibTorch];

    /// <summary>
    /// Per tensor, with e_m and e_t the largest distances of the managed and the libtorch float32 results from the
    /// float64 <paramref name="reference"/>: neither may exceed <see cref="ErrorRatio"/> times the other (each at least
    /// <see cref="ErrorFloorUlps"/> units in the last place of the tensor's largest value).
    /// </summary>
    public static void AssertAgree(string what, float[] reference, float[] managed, float[] libTorch, ParameterLayout? layout = null)
    {
        Assert.AreEqual(reference.Length, managed.Length, $"{what}: length on the managed engine");
        Assert.AreEqual(reference.Length, libTorch.Length, $"{what}: length on the libtorch engine");
        var blocks = layout?.Tensors.Select(t => (t.Name, t.Offset, t.Length)) ?? [(what, 0, reference.Length)];
        foreach (var (name, offset, length) in blocks)
        {
            double scale = 0, managedError = 0, libTorchError = 0;
            for (int i = offset; i < offset + length; i++)
            {
                scale = Math.Max(scale, Math.Abs(reference[i]));
                managedError = Math.Max(managedError, Math.Abs((double)managed[i] - reference[i]));
                libTorchError = Math.Max(libTorchError, Math.Abs((double)libTorch[i] - reference[i]));
            }
            double floor = ErrorFloorUlps * UnitRoundoff * Math.Max(scale, float.Epsilon);
            string errors = $"{what}: {name}: largest error from the float64 reference {managedError:G3} on the managed engine, " +
                $"{libTorchError:G3} on libtorch (largest magnitude {scale:G4})";
            Assert.IsTrue(managedError <= ErrorRatio * Math.Max(libTorchError, floor), errors);
            Assert.IsTrue(libTorchError <= ErrorRatio * Math.Max(managedError, floor), errors);
        }
    }

    public void Dispose()
    {
        Managed.Dispose();
        LibTorch.Dispose();
        Reference.Dispose();
    }
}
