namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// A Gaussian fitted to the training rows' posterior means; the squared Mahalanobis distance of a row's posterior
/// mean from it says how untypical the row's embedding is, which the likelihood alone misses.
/// </summary>
internal sealed class LatentGaussian(Whitening whitening)
{
    public int Dimensions => whitening.Dimensions;

    public Whitening Whitening => whitening;

    public static LatentGaussian Fit(FeatureMatrix embeddings) => new(Whitening.Fit(embeddings));

    /// <summary>Squared Mahalanobis distance of each row of <paramref name="embeddings"/>.</summary>
    public float[] SquaredDistance(FeatureMatrix embeddings)
    {
        var white = whitening.Apply(embeddings);
        var result = new float[embeddings.Rows];
        for (int r = 0; r < result.Length; r++) result[r] = System.Numerics.Tensors.TensorPrimitives.SumOfSquares(white.Row(r));
        return result;
    }

    public void Write(BinaryWriter writer) => whitening.Write(writer);

    public static LatentGaussian Read(BinaryReader reader) => new(Whitening.Read(reader));
}
