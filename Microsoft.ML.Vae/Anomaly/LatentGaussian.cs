namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// A Gaussian fitted to the training rows' posterior means; the squared Mahalanobis distance of a row's posterior
/// mean from it says how untypical the row's embedding is, which the likelihood alone misses.
/// </summary>
internal sealed class LatentGaussian
{
    // Added to the covariance diagonal so nearly unused latent dimensions (variance ≈ 0) do not dominate.
    private const double Ridge = 1e-3;

    private readonly double[] _mean;
    private readonly double[] _precision; // [D, D], symmetric

    public LatentGaussian(double[] mean, double[] precision)
    {
        if (precision.Length != mean.Length * mean.Length)
            throw new InvalidDataException($"A latent Gaussian of {mean.Length} dimensions needs {mean.Length * mean.Length} precision values, got {precision.Length}.");
        _mean = mean;
        _precision = precision;
    }

    public int Dimensions => _mean.Length;

    public static LatentGaussian Fit(FeatureMatrix embeddings)
    {
        int n = embeddings.Rows, d = embeddings.Columns;
        var mean = new double[d];
        for (int r = 0; r < n; r++)
            for (int j = 0; j < d; j++) mean[j] += embeddings.Values[r * d + j];
        for (int j = 0; j < d; j++) mean[j] /= n;
        var covariance = new double[d * d];
        var centred = new double[d];
        for (int r = 0; r < n; r++)
        {
            for (int j = 0; j < d; j++) centred[j] = embeddings.Values[r * d + j] - mean[j];
            for (int i = 0; i < d; i++)
                for (int j = 0; j <= i; j++) covariance[i * d + j] += centred[i] * centred[j];
        }
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j <= i; j++) covariance[j * d + i] = covariance[i * d + j] /= Math.Max(1, n - 1);
            covariance[i * d + i] += Ridge;
        }
        return new LatentGaussian(mean, InvertSymmetricPositiveDefinite(covariance, d));
    }

    /// <summary>Squared Mahalanobis distance of each row of <paramref name="embeddings"/>.</summary>
    public float[] SquaredDistance(FeatureMatrix embeddings)
    {
        int d = Dimensions;
        var result = new float[embeddings.Rows];
        var centred = new double[d];
        for (int r = 0; r < embeddings.Rows; r++)
        {
            for (int j = 0; j < d; j++) centred[j] = embeddings.Values[r * d + j] - _mean[j];
            double sum = 0;
            for (int i = 0; i < d; i++)
            {
                double row = 0;
                for (int j = 0; j < d; j++) row += _precision[i * d + j] * centred[j];
                sum += centred[i] * row;
            }
            result[r] = (float)sum;
        }
        return result;
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write(Dimensions);
        foreach (double v in _mean) writer.Write(v);
        foreach (double v in _precision) writer.Write(v);
    }

    public static LatentGaussian Read(BinaryReader reader)
    {
        int d = reader.ReadInt32();
        if (d < 1 || d > 4096) throw new InvalidDataException($"The detector file's latent Gaussian has {d} dimensions.");
        var mean = new double[d];
        var precision = new double[d * d];
        for (int i = 0; i < d; i++) mean[i] = reader.ReadDouble();
        for (int i = 0; i < d * d; i++) precision[i] = reader.ReadDouble();
        return new LatentGaussian(mean, precision);
    }

    /// <summary>Inverse through the Cholesky factor L (A = L·Lᵀ, A⁻¹ = L⁻ᵀ·L⁻¹).</summary>
    private static double[] InvertSymmetricPositiveDefinite(double[] a, int d)
    {
        var l = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++)
            {
                double sum = a[i * d + j];
                for (int k = 0; k < j; k++) sum -= l[i * d + k] * l[j * d + k];
                l[i * d + j] = i == j ? Math.Sqrt(Math.Max(sum, 1e-12)) : sum / l[j * d + j];
            }
        var inverseL = new double[d * d]; // lower triangular
        for (int i = 0; i < d; i++)
        {
            inverseL[i * d + i] = 1 / l[i * d + i];
            for (int j = 0; j < i; j++)
            {
                double sum = 0;
                for (int k = j; k < i; k++) sum -= l[i * d + k] * inverseL[k * d + j];
                inverseL[i * d + j] = sum / l[i * d + i];
            }
        }
        var inverse = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++)
            {
                double sum = 0;
                for (int k = i; k < d; k++) sum += inverseL[k * d + i] * inverseL[k * d + j];
                inverse[i * d + j] = inverse[j * d + i] = sum;
            }
        return inverse;
    }
}
