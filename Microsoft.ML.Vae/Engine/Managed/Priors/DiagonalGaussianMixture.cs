using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Engine.Managed.Priors;

/// <summary>
/// p(z) = (1/C) Σ_c N(z; m_c, diag exp(v_c)): the one form of every Gaussian prior (docs/estimators.md). The standard
/// normal is one component at (0, 0), the learned Gaussian one component from the parameters, the VampPrior the
/// encoder's posteriors at the C pseudo-inputs. Immutable once built, so scoring threads can share it.
/// </summary>
internal sealed class DiagonalGaussianMixture
{
    private readonly float[] _means;
    private readonly float[] _inverseVariances;
    private readonly float[] _logNormalizers; // −½ (Σ_d v_cd + D log 2π) − log C

    public DiagonalGaussianMixture(float[] means, ReadOnlySpan<float> logVariances, int components, int dimensions)
    {
        Components = components;
        Dimensions = dimensions;
        _means = means;
        _inverseVariances = new float[components * dimensions];
        TensorPrimitives.Negate(logVariances[..(components * dimensions)], _inverseVariances);
        TensorPrimitives.Exp(_inverseVariances, _inverseVariances);
        _logNormalizers = new float[components];
        float logComponents = MathF.Log(components);
        for (int c = 0; c < components; c++)
            _logNormalizers[c] = -0.5f * (TensorPrimitives.Sum(logVariances.Slice(c * dimensions, dimensions)) + dimensions * LogSpace.LogTwoPi) - logComponents;
    }

    public static DiagonalGaussianMixture StandardNormal(int dimensions) => new(new float[dimensions], new float[dimensions], 1, dimensions);

    public int Components { get; }
    public int Dimensions { get; }
    public ReadOnlySpan<float> Means => _means.AsSpan(0, Components * Dimensions);
    public ReadOnlySpan<float> InverseVariances => _inverseVariances;

    /// <summary>Per component −½ (Σ_d v_cd + D log 2π) − log C.</summary>
    public ReadOnlySpan<float> LogNormalizers => _logNormalizers;

    /// <summary>
    /// log p(z) of one point. Writes the responsibilities r_c = p(c | z) when <paramref name="responsibilities"/> is not
    /// empty and ∇_z log p(z) = −Σ_c r_c (z − m_c)/σ_c² when <paramref name="zGradient"/> is not empty;
    /// <paramref name="scratch"/> holds at least C values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public float LogDensity(ReadOnlySpan<float> z, Span<float> responsibilities, Span<float> zGradient, Span<float> scratch)
    {
        int d = Dimensions;
        var logComponent = responsibilities.IsEmpty ? scratch[..Components] : responsibilities[..Components];
        for (int c = 0; c < Components; c++)
        {
            var mean = _means.AsSpan(c * d, d);
            var inverse = _inverseVariances.AsSpan(c * d, d);
            float quadratic = 0;
            for (int j = 0; j < d; j++)
            {
                float delta = z[j] - mean[j];
                quadratic += delta * delta * inverse[j];
            }
            logComponent[c] = _logNormalizers[c] - 0.5f * quadratic;
        }
        float logDensity = (float)LogSpace.LogSumExp(logComponent);
        if (responsibilities.IsEmpty && zGradient.IsEmpty) return logDensity;

        // Responsibilities in place of the component log densities.
        TensorPrimitives.Subtract(logComponent, logDensity, logComponent);
        TensorPrimitives.Exp(logComponent, logComponent);
        if (zGradient.IsEmpty) return logDensity;
        var gradient = zGradient[..d];
        gradient.Clear();
        for (int c = 0; c < Components; c++)
        {
            float r = logComponent[c];
            var mean = _means.AsSpan(c * d, d);
            var inverse = _inverseVariances.AsSpan(c * d, d);
            for (int j = 0; j < d; j++) gradient[j] -= r * (z[j] - mean[j]) * inverse[j];
        }
        return logDensity;
    }

    /// <summary>
    /// Adds Σ_s weight_s·∂log p(z_s)/∂(m_c, v_c) for components [first, end): weight·r_c·(z − m_c)/σ_c² to the mean and
    /// weight·r_c·½((z − m_c)²/σ_c² − 1) to the log-variance, summing the points in order (deterministic).
    /// </summary>
    public void AccumulateComponentGradients(ReadOnlySpan<float> points, ReadOnlySpan<float> responsibilities, ReadOnlySpan<float> weights,
        int first, int end, Span<float> meanGradient, Span<float> logVarianceGradient)
    {
        int d = Dimensions, count = weights.Length;
        for (int c = first; c < end; c++)
        {
            var mean = _means.AsSpan(c * d, d);
            var inverse = _inverseVariances.AsSpan(c * d, d);
            var meanTarget = meanGradient.Slice(c * d, d);
            var logVarianceTarget = logVarianceGradient.Slice(c * d, d);
            for (int s = 0; s < count; s++)
            {
                float coefficient = weights[s] * responsibilities[s * Components + c];
                if (coefficient == 0) continue;
                var z = points.Slice(s * d, d);
                for (int j = 0; j < d; j++)
                {
                    float scaled = (z[j] - mean[j]) * inverse[j];
                    meanTarget[j] += coefficient * scaled;
                    logVarianceTarget[j] += coefficient * 0.5f * (scaled * (z[j] - mean[j]) - 1);
                }
            }
        }
    }
}
