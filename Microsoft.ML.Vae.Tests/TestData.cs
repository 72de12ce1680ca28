using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>Small models and data shared by the tests.</summary>
internal static class TestData
{
    public static VaeModelOptions SmallOptions(DecoderKind decoder = DecoderKind.Bernoulli, Activation activation = Activation.Tanh, bool learnVariance = false) => new()
    {
        HiddenSizes = [5, 4],
        DecoderHiddenSizes = [4, 6],
        LatentSize = 3,
        Activation = activation,
        Decoder = decoder,
        LearnDecoderVariance = learnVariance,
        DecoderVariance = 0.5f,
    };

    /// <summary>Rows in [0, 1] with structure (two clusters), so training has something to learn.</summary>
    public static FeatureMatrix Clusters(int rows, int columns, int seed)
    {
        var random = new RandomSource(seed, 99);
        var values = new float[rows * columns];
        for (int r = 0; r < rows; r++)
        {
            bool first = r % 2 == 0;
            for (int c = 0; c < columns; c++)
            {
                float centre = (c % 2 == 0) == first ? 0.85f : 0.15f;
                values[r * columns + c] = Math.Clamp(centre + 0.1f * (random.NextFloat() - 0.5f), 0f, 1f);
            }
        }
        return new FeatureMatrix(values, rows, columns);
    }

    public static float[] Normal(int count, int seed, long stream = 7)
    {
        var values = new float[count];
        new RandomSource(seed, stream).FillNormal(values);
        return values;
    }

    /// <summary>Random parameters of a moderate scale (initialisation plus noise in biases and log-variances).</summary>
    public static float[] RandomParameters(ParameterLayout layout, int seed)
    {
        var random = new RandomSource(seed, 3);
        var parameters = layout.Initialize(random);
        foreach (var t in layout.Tensors)
            if (t.Rows == 1)
                for (int i = 0; i < t.Length; i++) parameters[t.Offset + i] += 0.3f * (random.NextFloat() - 0.5f);
        return parameters;
    }

    /// <summary>(activation, decoder, learned variance, K, analytic KL) combinations that engine tests sweep.</summary>
    public static IEnumerable<object[]> EngineCases()
    {
        foreach (var activation in new[] { Activation.Tanh, Activation.Relu, Activation.Softplus, Activation.Identity })
            foreach (var (decoder, learn) in new[] { (DecoderKind.Bernoulli, false), (DecoderKind.Gaussian, false), (DecoderKind.Gaussian, true) })
                foreach (int k in new[] { 1, 4 })
                    yield return [activation, decoder, learn, k, false];
        yield return [Activation.Tanh, DecoderKind.Bernoulli, false, 1, true];
        yield return [Activation.Softplus, DecoderKind.Gaussian, false, 1, true];
        yield return [Activation.Softplus, DecoderKind.Gaussian, true, 1, true];
        yield return [Activation.Relu, DecoderKind.Gaussian, true, 1, true];
    }
}
