using System.Numerics.Tensors;

namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// Principal component analysis: the mean and the leading eigenvectors of the covariance, found by subspace
/// iteration with a Rayleigh-Ritz step. Used as the reconstruction-error anomaly baseline and to project embeddings
/// to 2D for plots.
/// </summary>
public sealed class PrincipalComponents
{
    private const int MaxIterations = 300;
    private const double Tolerance = 1e-7;

    private readonly float[] _mean;
    private readonly float[] _components; // [count, features], orthonormal rows

    private PrincipalComponents(float[] mean, float[] components, double[] variances)
    {
        _mean = mean;
        _components = components;
        ExplainedVariance = variances;
    }

    public int Count => ExplainedVariance.Count;

    public int Features => _mean.Length;

    /// <summary>Variance along each component, largest first.</summary>
    public IReadOnlyList<double> ExplainedVariance { get; }

    /// <summary>Fits <paramref name="count"/> components to the rows of <paramref name="data"/>.</summary>
    public static PrincipalComponents Fit(FeatureMatrix data, int count, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(data);
        int n = data.Rows, d = data.Columns;
        if (count < 1 || count > d)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"The component count must lie in [1, {d}] (the number of features).");
        if (n < 2) throw new ArgumentException($"PCA needs at least 2 rows, got {n}.", nameof(data));
        InputValidation.CheckBatch(data.Values, n, d, DecoderKind.Gaussian, nameof(data));

        var mean = new float[d];
        for (int r = 0; r < n; r++) TensorPrimitives.Add(mean, data.Row(r), mean);
        TensorPrimitives.Divide(mean, n, mean);
        // Centred columns (feature-major), so each covariance entry is one contiguous dot product.
        var columns = new float[(long)d * n];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < d; c++) columns[(long)c * n + r] = data.Values[(long)r * d + c] - mean[c];
        var covariance = new double[d, d];
        Parallel.For(0, d, i =>
        {
            var a = columns.AsSpan(i * n, n);
            for (int j = 0; j <= i; j++)
                covariance[i, j] = covariance[j, i] = TensorPrimitives.Dot(a, columns.AsSpan(j * n, n)) / (n - 1.0);
        });

        var (vectors, values) = LeadingEigenvectors(covariance, count, seed);
        var components = new float[count * d];
        for (int k = 0; k < count; k++)
            for (int c = 0; c < d; c++) components[k * d + c] = (float)vectors[c, k];
        return new PrincipalComponents(mean, components, values);
    }

    /// <summary>Coordinates of each row along the components, <c>[rows, Count]</c>.</summary>
    public FeatureMatrix Transform(FeatureMatrix data)
    {
        CheckColumns(data);
        var result = new float[data.Rows * Count];
        var centred = new float[Features];
        for (int r = 0; r < data.Rows; r++)
        {
            TensorPrimitives.Subtract(data.Row(r), _mean, centred);
            for (int k = 0; k < Count; k++) result[r * Count + k] = TensorPrimitives.Dot(centred, _components.AsSpan(k * Features, Features));
        }
        return new FeatureMatrix(result, data.Rows, Count);
    }

    /// <summary>Squared distance of each row from its projection onto the components: the PCA anomaly score.</summary>
    public float[] ReconstructionError(FeatureMatrix data)
    {
        CheckColumns(data);
        var errors = new float[data.Rows];
        var centred = new float[Features];
        for (int r = 0; r < data.Rows; r++)
        {
            TensorPrimitives.Subtract(data.Row(r), _mean, centred);
            double error = TensorPrimitives.Dot(centred, centred);
            for (int k = 0; k < Count; k++)
            {
                double t = TensorPrimitives.Dot(centred, _components.AsSpan(k * Features, Features));
                error -= t * t;
            }
            errors[r] = (float)Math.Max(0, error);
        }
        return errors;
    }

    private void CheckColumns(FeatureMatrix data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Columns != Features)
            throw new ArgumentException($"The rows have {data.Columns} features but the components were fitted on {Features}.", nameof(data));
    }

    /// <summary>
    /// Subspace iteration on a block a little wider than <paramref name="count"/> (faster convergence), then the
    /// eigen-decomposition of the small projected matrix orders and refines the vectors.
    /// </summary>
    private static (double[,] Vectors, double[] Values) LeadingEigenvectors(double[,] a, int count, int seed)
    {
        int d = a.GetLength(0), m = Math.Min(d, count + Math.Max(5, count / 2));
        var random = new Mathematics.RandomSource(seed, 41);
        var q = new double[d, m];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < m; j++) q[i, j] = random.NextFloat() - 0.5;
        Orthonormalize(q);
        var previous = new double[m];
        double[] ritzValues = previous;
        double[,] ritzVectors = new double[m, m];
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            var aq = Multiply(a, q);
            (ritzValues, ritzVectors) = SymmetricEigen(TransposeMultiply(q, aq));
            q = aq;
            Orthonormalize(q);
            double change = 0, scale = Math.Max(Math.Abs(ritzValues[0]), 1e-30);
            for (int k = 0; k < count; k++) change = Math.Max(change, Math.Abs(ritzValues[k] - previous[k]) / scale);
            if (change < Tolerance) break;
            previous = ritzValues;
        }
        // Rotate the final basis onto the Ritz vectors of its projected matrix.
        (ritzValues, ritzVectors) = SymmetricEigen(TransposeMultiply(q, Multiply(a, q)));
        var vectors = new double[d, count];
        for (int i = 0; i < d; i++)
            for (int k = 0; k < count; k++)
            {
                double s = 0;
                for (int j = 0; j < m; j++) s += q[i, j] * ritzVectors[j, k];
                vectors[i, k] = s;
            }
        return (vectors, ritzValues[..count]);
    }

    private static double[,] Multiply(double[,] a, double[,] b)
    {
        int n = a.GetLength(0), inner = a.GetLength(1), m = b.GetLength(1);
        var result = new double[n, m];
        Parallel.For(0, n, i =>
        {
            for (int t = 0; t < inner; t++)
            {
                double v = a[i, t];
                for (int j = 0; j < m; j++) result[i, j] += v * b[t, j];
            }
        });
        return result;
    }

    private static double[,] TransposeMultiply(double[,] a, double[,] b)
    {
        int n = a.GetLength(0), p = a.GetLength(1), m = b.GetLength(1);
        var result = new double[p, m];
        for (int t = 0; t < n; t++)
            for (int i = 0; i < p; i++)
            {
                double v = a[t, i];
                for (int j = 0; j < m; j++) result[i, j] += v * b[t, j];
            }
        return result;
    }

    /// <summary>Modified Gram-Schmidt on the columns, in place.</summary>
    private static void Orthonormalize(double[,] q)
    {
        int d = q.GetLength(0), m = q.GetLength(1);
        for (int j = 0; j < m; j++)
        {
            for (int k = 0; k < j; k++)
            {
                double dot = 0;
                for (int i = 0; i < d; i++) dot += q[i, j] * q[i, k];
                for (int i = 0; i < d; i++) q[i, j] -= dot * q[i, k];
            }
            double norm = 0;
            for (int i = 0; i < d; i++) norm += q[i, j] * q[i, j];
            norm = Math.Sqrt(norm);
            if (norm < 1e-300) { for (int i = 0; i < d; i++) q[i, j] = i == j ? 1 : 0; continue; }
            for (int i = 0; i < d; i++) q[i, j] /= norm;
        }
    }

    /// <summary>Cyclic Jacobi eigen-decomposition of a small symmetric matrix: values descending, vectors as columns.</summary>
    private static (double[] Values, double[,] Vectors) SymmetricEigen(double[,] s)
    {
        int m = s.GetLength(0);
        var a = (double[,])s.Clone();
        var v = new double[m, m];
        for (int i = 0; i < m; i++) v[i, i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, total = 0;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++) { total += a[i, j] * a[i, j]; if (i != j) off += a[i, j] * a[i, j]; }
            if (off <= 1e-24 * total) break;
            for (int p = 0; p < m - 1; p++)
                for (int r = p + 1; r < m; r++)
                {
                    if (Math.Abs(a[p, r]) < 1e-300) continue;
                    double theta = (a[r, r] - a[p, p]) / (2 * a[p, r]);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), sn = t * c;
                    for (int k = 0; k < m; k++)
                    {
                        double akp = a[k, p], akr = a[k, r];
                        a[k, p] = c * akp - sn * akr;
                        a[k, r] = sn * akp + c * akr;
                    }
                    for (int k = 0; k < m; k++)
                    {
                        double apk = a[p, k], ark = a[r, k];
                        a[p, k] = c * apk - sn * ark;
                        a[r, k] = sn * apk + c * ark;
                    }
                    for (int k = 0; k < m; k++)
                    {
                        double vkp = v[k, p], vkr = v[k, r];
                        v[k, p] = c * vkp - sn * vkr;
                        v[k, r] = sn * vkp + c * vkr;
                    }
                }
        }
        var order = Enumerable.Range(0, m).OrderByDescending(i => a[i, i]).ToArray();
        var values = order.Select(i => a[i, i]).ToArray();
        var vectors = new double[m, m];
        for (int k = 0; k < m; k++)
            for (int i = 0; i < m; i++) vectors[i, k] = v[i, order[k]];
        return (values, vectors);
    }
}
