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
    /// The decoder's layer inputs and weights quantised to 16-bit integers (per row and per output column, about 11
    /// to 12 bits for 50 to 200 inputs), summed exactly in 32-bit integers: about a fifth faster than float32 on the
    /// Burda et al. model, with the log-likelihood of Fashion-MNIST images within 0.01 nats of float32
    /// (docs/benchmarks.md). Managed engine, on x64 CPUs with AVX2 or AVX-512.
    /// </summary>
    Int16,
}
