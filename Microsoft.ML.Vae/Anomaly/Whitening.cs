using Microsoft.ML.Vae.Model;
namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// The affine map w = L⁻¹(u − m), with m the mean and L·Lᵀ the covariance (plus a small ridge) of the rows it was
/// fitted on: whitened rows have identity covariance, so Euclidean distances between them are Mahalanobis distances.
/// </summary>
internal sealed class Whitening
{
    // Added to the covariance diagonal so nearly constant dimensions (variance ≈ 0) do not dominate.
    private const double Ridge = 1e-3;

    private readonly double[] _mean;
    private readonly double[] _inverseFactor; // L⁻¹, [D, D], lower triangular

    private Whitening(double[] mean, double[] inverseFactor)
    {
        _mean = mean;
        _inverseFactor = inverseFactor;
    }

    public int Dimensions => _mean.Length;

    /// <summary>m, the mean of the fitted rows.</summary>
    public ReadOnlySpan<double> Mean => _mean;

    /// <summary>L⁻¹, <c>[D, D]</c> row-major, lower triangular.</summary>
    public ReadOnlySpan<double> InverseFactor => _inverseFactor;

    public static Whitening Fit(FeatureMatrix rows)
    {
        int n = rows.Rows, d = rows.Columns;
        var mean = new double[d];
        for (int r = 0; r < n; r++)
            for (int j = 0; j < d; j++) mean[j] += rows.Values[r * d + j];
        for (int j = 0; j < d; j++) mean[j] /= n;
        var covariance = new double[d * d];
        var centred = new double[d];
        for (int r = 0; r < n; r++)
        {
            for (int j = 0; j < d; j++) centred[j] = rows.Values[r * d + j] - mean[j];
            for (int i = 0; i < d; i++)
                for (int j = 0; j <= i; j++) covariance[i * d + j] += centred[i] * centred[j];
        }
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j <= i; j++) covariance[j * d + i] = covariance[i * d + j] /= Math.Max(1, n - 1);
            covariance[i * d + i] += Ridge;
        }
        return new Whitening(mean, InverseCholeskyFactor(covariance, d));
    }

    /// <summary>The whitened rows, <c>[rows, Dimensions]</c>.</summary>
    public FeatureMatrix Apply(FeatureMatrix rows)
    {
        int d = Dimensions;
        var result = new float[rows.Rows * d];
        var centred = new double[d];
        for (int r = 0; r < rows.Rows; r++)
        {
            for (int j = 0; j < d; j++) centred[j] = rows.Values[r * d + j] - _mean[j];
            for (int i = 0; i < d; i++)
            {
                double sum = 0;
                for (int j = 0; j <= i; j++) sum += _inverseFactor[i * d + j] * centred[j];
                result[r * d + i] = (float)sum;
            }
        }
        return new FeatureMatrix(result, rows.Rows, d);
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write(Dimensions);
        foreach (double v in _mean) writer.Write(v);
        foreach (double v in _inverseFactor) writer.Write(v);
    }

    public static Whitening Read(BinaryReader reader)
    {
        int d = reader.ReadInt32();
        if (d < 1 || d > 4096) throw new InvalidDataException($"The detector file's whitening has {d} dimensions.");
        reader.RequireBytes((long)d * (d + 1), sizeof(double), "whitening values");
        var mean = reader.ReadFiniteDoubles(d, "whitening means");
        var inverseFactor = reader.ReadFiniteDoubles(d * d, "whitening factors");
        return new Whitening(mean, inverseFactor);
    }

    /// <summary>L⁻¹ for the Cholesky factor L of a symmetric positive-definite matrix (A = L·Lᵀ).</summary>
    private static double[] InverseCholeskyFactor(double[] a, int d)
    {
        var l = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++)
            {
                double sum = a[i * d + j];
                for (int k = 0; k < j; k++) sum -= l[i * d + k] * l[j * d + k];
                l[i * d + j] = i == j ? Math.Sqrt(Math.Max(sum, 1e-12)) : sum / l[j * d + j];
            }
        var inverse = new double[d * d];
        for (int i = 0; i < d; i++)
        {
            inverse[i * d + i] = 1 / l[i * d + i];
            for (int j = 0; j < i; j++)
            {
                double sum = 0;
                for (int k = j; k < i; k++) sum -= l[i * d + k] * inverse[k * d + j];
                inverse[i * d + j] = sum / l[i * d + i];
            }
        }
        return inverse;
    }
}
