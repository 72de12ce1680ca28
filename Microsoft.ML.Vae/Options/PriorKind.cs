namespace Microsoft.ML.Vae;

/// <summary>The prior p(z) over the latent variables.</summary>
public enum PriorKind
{
    /// <summary>Fixed: N(0, I) for Gaussian latents, the uniform distribution for categorical latents.</summary>
    Standard,

    /// <summary>A diagonal Gaussian N(m, diag exp(v)) whose m and v are learned with the model (Gaussian latents).</summary>
    LearnedGaussian,

    /// <summary>
    /// VampPrior (Tomczak and Welling 2018): (1/C) Σ_c q(z | u_c), the encoder's posteriors at C = PseudoInputCount
    /// learned pseudo-inputs u_c (Gaussian latents).
    /// </summary>
    Vamp,
}
