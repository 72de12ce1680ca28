namespace Microsoft.ML.Vae.TabularAnomalyBench;

/// <summary>Per-column z-scores with the training rows' mean and standard deviation, for the core PCA baseline.</summary>
internal static class Standardizer
{
    public static Func<FeatureMatrix, FeatureMatrix> Fit(FeatureMatrix train)
    {
        int d = train.Columns;
        var mean = new double[d];
        var scale = new double[d];
        for (int r = 0; r < train.Rows; r++)
            for (int c = 0; c < d; c++) mean[c] += train.Values[(long)r * d + c] / (double)train.Rows;
        for (int r = 0; r < train.Rows; r++)
            for (int c = 0; c < d; c++) scale[c] += Math.Pow(train.Values[(long)r * d + c] - mean[c], 2) / train.Rows;
        for (int c = 0; c < d; c++) scale[c] = scale[c] > 0 ? Math.Sqrt(scale[c]) : 1;
        return data =>
        {
            var values = new float[data.Values.Length];
            for (long i = 0; i < values.Length; i++) values[i] = (float)((data.Values[i] - mean[i % d]) / scale[i % d]);
            return new FeatureMatrix(values, data.Rows, d);
        };
    }
}
