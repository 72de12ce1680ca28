namespace Microsoft.ML.Vae.Anomaly;

/// <summary>How a detector rescales each feature, fitted on the training rows and applied to every row it scores.</summary>
public enum FeatureScaling
{
    /// <summary>Use the features as given.</summary>
    None,

    /// <summary>
    /// Map each feature's training range to [0, 1]. With the Bernoulli decoder, values beyond the training range are
    /// clipped to [0, 1] when scored (the decoder cannot represent them); use <see cref="Standardize"/> with a Gaussian
    /// decoder when how far a value lies outside the range matters.
    /// </summary>
    MinMax,

    /// <summary>Subtract each feature's training mean and divide by its standard deviation (for the Gaussian decoder).</summary>
    Standardize,
}
