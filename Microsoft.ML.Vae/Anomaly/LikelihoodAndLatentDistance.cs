namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// The <see cref="AnomalyScoreKind.LikelihoodAndLatentDistance"/> score: -log p(x) plus the squared Mahalanobis
/// distance of the posterior mean from the training embeddings, each standardised (mean 0, deviation 1) on the
/// held-out calibration rows so that neither term dominates by its units.
/// </summary>
internal sealed class LikelihoodAndLatentDistance(LatentGaussian latent, double likelihoodMean, double likelihoodScale, double distanceMean, double distanceScale)
{
    public LatentGaussian Latent { get; } = latent;

    /// <summary>Fits the latent Gaussian on the training rows and the standardisation on the calibration rows (all scaled).</summary>
    public static LikelihoodAndLatentDistance Fit(VaeModel model, FeatureMatrix training, FeatureMatrix calibration, float[] calibrationLogLikelihood)
    {
        var latent = LatentGaussian.Fit(model.Embed(training));
        var distance = latent.SquaredDistance(model.Embed(calibration));
        var (likelihoodMean, likelihoodScale) = MeanAndDeviation(calibrationLogLikelihood.Select(v => -(double)v));
        var (distanceMean, distanceScale) = MeanAndDeviation(distance.Select(v => (double)v));
        return new LikelihoodAndLatentDistance(latent, likelihoodMean, likelihoodScale, distanceMean, distanceScale);
    }

    /// <summary>The scores of scaled rows whose log-likelihoods are already estimated.</summary>
    public float[] Score(VaeModel model, FeatureMatrix rows, float[] logLikelihood)
    {
        var distance = Latent.SquaredDistance(model.Embed(rows));
        var scores = new float[rows.Rows];
        for (int i = 0; i < scores.Length; i++)
            scores[i] = (float)((-logLikelihood[i] - likelihoodMean) / likelihoodScale + (distance[i] - distanceMean) / distanceScale);
        return scores;
    }

    public void Write(BinaryWriter writer)
    {
        Latent.Write(writer);
        writer.Write(likelihoodMean);
        writer.Write(likelihoodScale);
        writer.Write(distanceMean);
        writer.Write(distanceScale);
    }

    public static LikelihoodAndLatentDistance Read(BinaryReader reader)
    {
        var latent = LatentGaussian.Read(reader);
        double lm = reader.ReadDouble(), ls = reader.ReadDouble(), dm = reader.ReadDouble(), ds = reader.ReadDouble();
        if (!(ls > 0) || !(ds > 0) || !double.IsFinite(lm) || !double.IsFinite(dm))
            throw new InvalidDataException("The detector file's score standardisation is not valid.");
        return new LikelihoodAndLatentDistance(latent, lm, ls, dm, ds);
    }

    private static (double Mean, double Deviation) MeanAndDeviation(IEnumerable<double> values)
    {
        var list = values.ToArray();
        double mean = list.Average();
        double deviation = Math.Sqrt(list.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, list.Length - 1));
        return (mean, deviation > 1e-12 ? deviation : 1);
    }
}
