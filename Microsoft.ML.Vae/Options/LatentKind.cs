namespace Microsoft.ML.Vae;

/// <summary>The type of the latent variables.</summary>
public enum LatentKind
{
    /// <summary>Diagonal Gaussian q(z|x) = N(μ(x), diag σ²(x)), LatentSize dimensions.</summary>
    Gaussian,

    /// <summary>
    /// LatentSize independent categorical variables of CategoryCount classes each, seen by the decoder as one-hot
    /// vectors (LatentSize × CategoryCount inputs); trained through the Gumbel-Softmax relaxation or the score function.
    /// </summary>
    Categorical,
}
