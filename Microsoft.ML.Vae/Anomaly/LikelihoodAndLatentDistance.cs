namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// The <see cref="AnomalyScoreKind.LikelihoodAndLatentDistance"/> score: -log p(x) plus the squared Mahalanobis
/// distance of the posterior mean from the training embeddings, each standardised (mean 0, deviation 1) on the
/// held-out calibration rows so that neither term dominates by its units.
/// </summary>
internal sealed class LikelihoodAndLatentDistance(LatentGaussian latent, Standardization likelihood, Standardization distance)
{
    public LatentGaussian Latent { get; } = latent;

    /// <summary>The standardisation of −log p(x).</summary>
    public Standardization Likelihood => likelihood;

    /// <summary>The standardisation of the squared latent distance.</summary>
    public Standardization Distance => distance;

    /// <summary>Fits the latent Gaussian on the training rows and the standardisation on the calibration rows (all scaled).</summary>
    public static LikelihoodAndLatentDistance Fit(VaeModel model, FeatureMatrix training, FeatureMatrix calibration, float[] calibrationLogLikelihood)
    {
        var latent = LatentGaussian.Fit(model.Embed(training));
        var distance = latent.SquaredDistance(model.Embed(calibration));
        return new LikelihoodAndLatentDistance(latent,
            Standardization.Fit(calibrationLogLikelihood.Select(v => -(double)v)),
            Standardization.Fit(distance.Select(v => (double)v)));
    }

    /// <summary>The scores of scaled rows whose log-likelihoods are already estimated.</summary>
    public float[] Score(VaeModel model, FeatureMatrix rows, float[] logLikelihood)
    {
        var squaredDistance = Latent.SquaredDistance(model.Embed(rows));
        var scores = new float[rows.Rows];
        for (int i = 0; i < scores.Length; i++)
            scores[i] = (float)(likelihood.Apply(-logLikelihood[i]) + distance.Apply(squaredDistance[i]));
        return scores;
    }

    public void Write(BinaryWriter writer)
    {
        Latent.Write(writer);
        likelihood.Write(writer);
        distance.Write(writer);
    }

    public static LikelihoodAndLatentDistance Read(BinaryReader reader)
    {
        var latent = LatentGaussian.Read(reader);
        var likelihood = Standardization.Read(reader);
        return new LikelihoodAndLatentDistance(latent, likelihood, Standardization.Read(reader));
    }
}
