using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// The linear-Gaussian model p(z) = N(0, I), p(x|z) = N(z·W + b, σ²I), written as a VAE with identity activations:
/// its marginal p(x) = N(b, WᵀW + σ²I) and its posterior are known in closed form, so bounds can be checked exactly.
/// W (D×F) has orthogonal rows, so the exact posterior covariance (I + WWᵀ/σ²)⁻¹ is diagonal and a diagonal q can match it.
/// </summary>
internal sealed class LinearGaussianModel
{
    public const int Latent = 2, Features = 3;
    public const float NoiseVariance = 0.5f;
    public static readonly float[,] W = { { 1.0f, 0.5f, -0.5f }, { 0.0f, 1.0f, 1.0f } };
    public static readonly float[] B = [0.3f, -0.2f, 0.1f];

    public LinearGaussianModel(bool exactPosterior)
    {
        Options = new VaeModelOptions
        {
            HiddenSizes = [Features], DecoderHiddenSizes = [Latent], LatentSize = Latent, Activation = Activation.Identity,
            Decoder = DecoderKind.Gaussian, DecoderVariance = NoiseVariance,
        };
        Layout = new ParameterLayout(Options, Features);
        Parameters = new float[Layout.Count];
        Set("enc.0.W", Identity(Features));
        Set("dec.0.W", Identity(Latent));
        Set("dec.out.W", Flatten(W));
        Set("dec.out.b", B);
        // Exact posterior: Σ = diag(1 / (1 + |w_d|²/σ²)), mean = (x − b)·Wᵀ·Σ/σ².
        var sigma = new float[Latent];
        for (int d = 0; d < Latent; d++)
        {
            float norm = 0;
            for (int f = 0; f < Features; f++) norm += W[d, f] * W[d, f];
            sigma[d] = 1f / (1f + norm / NoiseVariance);
        }
        var meanWeights = new float[Features * Latent];
        var meanBias = new float[Latent];
        for (int f = 0; f < Features; f++)
            for (int d = 0; d < Latent; d++)
            {
                float weight = W[d, f] * sigma[d] / NoiseVariance;
                meanWeights[f * Latent + d] = exactPosterior ? weight : 0.5f * weight;
                meanBias[d] -= B[f] * weight;
            }
        Set("enc.mu.W", meanWeights);
        Set("enc.mu.b", meanBias);
        Set("enc.logvar.b", sigma.Select(s => MathF.Log(exactPosterior ? s : 2f * s)).ToArray());
    }

    public VaeModelOptions Options { get; }
    public ParameterLayout Layout { get; }
    public float[] Parameters { get; }

    public ManagedBackend CreateBackend(int threads = 1)
    {
        var backend = new ManagedBackend(Layout, threads);
        backend.SetParameters(Parameters);
        return backend;
    }

    public VaeModel CreateModel() => new(Options.Clone(), Layout, (float[])Parameters.Clone(), [], threads: 1);

    /// <summary>Exact log N(x; b, WᵀW + σ²I), in double precision.</summary>
    public static double ExactLogLikelihood(ReadOnlySpan<float> x)
    {
        var c = new double[Features, Features];
        for (int i = 0; i < Features; i++)
            for (int j = 0; j < Features; j++)
            {
                for (int d = 0; d < Latent; d++) c[i, j] += W[d, i] * W[d, j];
                if (i == j) c[i, j] += NoiseVariance;
            }
        // Cholesky: C = L Lᵀ; log N = −½(F log 2π + log|C| + |L⁻¹(x − b)|²).
        var l = new double[Features, Features];
        for (int i = 0; i < Features; i++)
            for (int j = 0; j <= i; j++)
            {
                double sum = c[i, j];
                for (int p = 0; p < j; p++) sum -= l[i, p] * l[j, p];
                l[i, j] = i == j ? Math.Sqrt(sum) : sum / l[j, j];
            }
        var y = new double[Features];
        double logDet = 0, quadratic = 0;
        for (int i = 0; i < Features; i++)
        {
            double sum = x[i] - B[i];
            for (int p = 0; p < i; p++) sum -= l[i, p] * y[p];
            y[i] = sum / l[i, i];
            quadratic += y[i] * y[i];
            logDet += 2 * Math.Log(l[i, i]);
        }
        return -0.5 * (Features * Math.Log(2 * Math.PI) + logDet + quadratic);
    }

    public static float[] Samples(int rows, int seed)
    {
        var z = TestData.Normal(rows * Latent, seed, stream: 11);
        var e = TestData.Normal(rows * Features, seed, stream: 12);
        var x = new float[rows * Features];
        for (int r = 0; r < rows; r++)
            for (int f = 0; f < Features; f++)
            {
                float v = B[f] + MathF.Sqrt(NoiseVariance) * e[r * Features + f];
                for (int d = 0; d < Latent; d++) v += z[r * Latent + d] * W[d, f];
                x[r * Features + f] = v;
            }
        return x;
    }

    private void Set(string name, float[] values)
    {
        var tensor = Layout.Find(name);
        Assert.AreEqual(tensor.Length, values.Length, name);
        values.CopyTo(Parameters, tensor.Offset);
    }

    private static float[] Identity(int n)
    {
        var m = new float[n * n];
        for (int i = 0; i < n; i++) m[i * n + i] = 1;
        return m;
    }

    private static float[] Flatten(float[,] m)
    {
        var result = new float[m.Length];
        int cols = m.GetLength(1);
        for (int i = 0; i < m.GetLength(0); i++)
            for (int j = 0; j < cols; j++) result[i * cols + j] = m[i, j];
        return result;
    }
}
