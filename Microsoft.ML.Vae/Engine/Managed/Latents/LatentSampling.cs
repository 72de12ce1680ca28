namespace Microsoft.ML.Vae.Engine.Managed.Latents;

/// <summary>How categorical latents are sampled in a forward pass (Gaussian latents have one way).</summary>
internal enum LatentSampling
{
    /// <summary>Hard one-hot samples (scoring; the score-function estimator).</summary>
    Hard,
    /// <summary>The decoder sees the Gumbel-Softmax sample.</summary>
    Relaxed,
    /// <summary>The decoder sees the hard sample, the gradient goes through the relaxed one.</summary>
    StraightThrough,
}
