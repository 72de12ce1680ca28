namespace Microsoft.ML.Vae.Anomaly;

/// <summary>What a <see cref="VaeAnomalyDetector"/> reports as a row's anomaly score (higher = more anomalous).</summary>
public enum AnomalyScoreKind
{
    /// <summary>
    /// -log p(x), the IWAE estimate. Sound for tabular data; on images it ranks simple inputs (few inked pixels) as
    /// likely whatever they show (Nalisnick et al. 2019), so prefer a corrected score there.
    /// </summary>
    NegativeLogLikelihood,

    /// <summary>
    /// -(log p(x) - log p_background(x)): the likelihood ratio against a second model trained on perturbed copies of the
    /// training rows (Ren et al. 2019). The background model learns the population-level statistics (how much ink, how
    /// smooth), so the ratio keeps what is specific to the normal data. Trains two models.
    /// </summary>
    LikelihoodRatio,

    /// <summary>
    /// -log p(x) plus the squared Mahalanobis distance of the row's posterior mean from a Gaussian fitted to the
    /// training rows' posterior means, each standardised on the held-out calibration rows. The distance catches rows
    /// the decoder reconstructs well but whose embedding is untypical of the normal data; on one-class Fashion-MNIST
    /// it ranks anomalies best of the scores here (docs/anomaly.md). One model, one extra encoder pass.
    /// </summary>
    LikelihoodAndLatentDistance,

    /// <summary>
    /// A latent-space density score: the encoder output [mean, log-variance] of the row, whitened with the covariance
    /// of the training rows' outputs, and the mean distance to its
    /// <see cref="VaeAnomalyDetectorOptions.NeighbourCount"/> nearest training rows. Needs neither sampling nor the
    /// decoder at scoring time; the detector stores the training rows' encoder outputs (2 · LatentSize floats per row).
    /// The best score measured on one-class Fashion-MNIST (docs/anomaly.md).
    /// </summary>
    LatentNeighbourDistance,
}
