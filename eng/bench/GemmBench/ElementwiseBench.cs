using System.Diagnostics;
using Microsoft.ML.Vae.Engine.Managed.Layers;
using Microsoft.ML.Vae.Engine.Managed.Likelihoods;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Benchmarks;

/// <summary>
/// ns per element of the engine's per-element kernels on one thread, on cache-resident blocks of the sizes the engine
/// hands them (a 162-row block of the K = 5000 evaluation): the Bernoulli log-likelihood of 784-pixel rows with and
/// without its gradient, and tanh and its derivative on 200-unit rows. These are the work the FLOP-time bound leaves out.
/// </summary>
internal static class ElementwiseBench
{
    private const int Rows = 162, Pixels = 784, Units = 200;

    public static void Run(int runs)
    {
        var random = new Random(7);
        float[] logits = Fill(Rows * Pixels, () => (float)(random.NextDouble() * 16 - 8));
        float[] pixels = Fill(Rows * Pixels, () => random.Next(2));
        float[] preActivations = Fill(Rows * Units, () => (float)(random.NextDouble() * 6 - 3));
        float[] gradient = new float[Rows * Pixels], scratch = new float[Rows * Pixels], hidden = new float[Rows * Units];
        var likelihood = new ObservationLikelihood(new ParameterLayout(new VaeModelOptions(), Pixels), []);
        float sink = 0;

        void LogLikelihood(bool withGradient)
        {
            for (int r = 0; r < Rows; r++)
            {
                var row = new Range(r * Pixels, (r + 1) * Pixels);
                sink += likelihood.LogProbability(pixels.AsSpan(row), logits.AsSpan(row), withGradient ? gradient.AsSpan(row) : [], scratch);
            }
        }

        Console.WriteLine($"per-element kernels, one thread, median of {runs} runs over a {Rows}-row block (ns per element: median, best)");
        Report("Bernoulli log p(x|o), 784 pixels", Rows * Pixels, runs, () => LogLikelihood(false));
        Report("Bernoulli log p(x|o) and gradient", Rows * Pixels, runs, () => LogLikelihood(true));
        Report("tanh, 200 units", Rows * Units, runs, () =>
        {
            preActivations.CopyTo(hidden, 0);
            Activations.Apply(Activation.Tanh, hidden);
        });
        Report("tanh derivative (gradient ⊙= 1 − y²)", Rows * Units, runs,
            () => Activations.MultiplyByDerivative(Activation.Tanh, hidden, gradient.AsSpan(0, Rows * Units)));
        GC.KeepAlive(sink);
    }

    private static void Report(string name, int elements, int runs, Action kernel)
    {
        const int repeats = 50;
        var times = new double[runs];
        for (int run = -2; run < runs; run++)
        {
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < repeats; i++)
                kernel();
            if (run >= 0)
                times[run] = watch.Elapsed.TotalNanoseconds / repeats / elements;
        }

        Array.Sort(times);
        Console.WriteLine($"{name,-40} {times[runs / 2],7:F3} {times[0],7:F3}");
    }

    private static float[] Fill(int length, Func<float> next)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
            values[i] = next();
        return values;
    }
}
