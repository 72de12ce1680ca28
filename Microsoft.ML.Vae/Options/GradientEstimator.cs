namespace Microsoft.ML.Vae;

/// <summary>How the gradient of the training objective with respect to the encoder is estimated (docs/estimators.md).</summary>
public enum GradientEstimator
{
    /// <summary>
    /// The reparameterisation trick: z = μ + σ·ε, differentiated through z and through log q's parameters.
    /// For categorical latents: the Gumbel-Softmax relaxation with the closed-form categorical KL (needs AnalyticKl).
    /// </summary>
    Reparameterization,

    /// <summary>
    /// Path derivative, "sticking the landing" (Roeder et al. 2017): as the reparameterisation trick but with
    /// gradients stopped through q's parameters inside log q, so the estimate vanishes when q is the exact posterior.
    /// Gaussian latents only.
    /// </summary>
    StickingTheLanding,

    /// <summary>
    /// Doubly-reparameterised IWAE gradient (Tucker et al. 2018): the encoder's path derivative is weighted by the
    /// squared normalised importance weights; the decoder's gradient is the IWAE one. Gaussian latents only.
    /// </summary>
    DoublyReparameterized,

    /// <summary>
    /// Score function (REINFORCE / black-box VI): the encoder's gradient is Σ_k (f − c − w̃_k)·∇ log q(z_k|x) with a
    /// running-mean baseline c; z is not differentiated. Works for latents that cannot be reparameterised (the only
    /// unbiased choice for the discrete bound of categorical latents).
    /// </summary>
    ScoreFunction,
}
