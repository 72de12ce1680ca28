namespace Microsoft.ML.Vae;

/// <summary>
/// The arithmetic of the decoder's matrix products when a model estimates log p(x)
/// (<see cref="VaeModel.UseScoringPrecision"/>). Training, embeddings and reconstructions always use float32.
/// </summary>
public enum ScoringPrecision
{
    /// <summary>Single precision throughout (the default).</summary>
    Float32,

    /// <summary>
    /// The decoder's layer inputs and weights quantised to 16-bit integers (per row and per output column, about 12
    /// to 13 bits for 200 to 50 inputs), summed exactly in 32-bit integers: on the Burda et al. model the K = 5000
    /// estimate takes about a fifth less time than in float32, and on the 10,000 Fashion-MNIST test images it differed
    /// from float32 by 0.0015 nats on average and 0.016 at most (docs/benchmarks.md). Managed engine, on x64 CPUs
    /// with AVX2 or AVX-512.
    /// </summary>
    Int16,
}
