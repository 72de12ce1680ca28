namespace Microsoft.ML.Vae;

/// <summary>
/// The bound maximised in training, over K = SampleCount log weights per row (Rainforth et al. 2018 for the last three).
/// </summary>
public enum TrainingObjective
{
    /// <summary>IWAE bound L_K = log (1/K) Σ_k w_k; K = 1 is the ELBO.</summary>
    Iwae,

    /// <summary>MIWAE: the mean of M = ObjectiveGroups IWAE bounds, each over K/M samples (M = K is the K-sample ELBO).</summary>
    Miwae,

    /// <summary>CIWAE: β·ELBO + (1 − β)·IWAE over the same K samples, β = CiwaeBeta.</summary>
    Ciwae,

    /// <summary>PIWAE: the decoder (and prior) maximise IWAE over K samples, the encoder MIWAE with M = ObjectiveGroups.</summary>
    Piwae,
}
