namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// Which implementation <see cref="Gemm"/> uses, chosen by the environment variable <c>VAE_GEMM</c>
/// (<c>managed</c>, <c>openblas</c> or <c>auto</c>; unset means <c>managed</c>).
/// </summary>
internal enum GemmProvider
{
    /// <summary>The built-in blocked SIMD kernel: no native dependency, bit-reproducible for a given thread count.</summary>
    Managed,

    /// <summary><c>cblas_sgemm</c> from <c>libopenblas.so.0</c>; an error if the library cannot be loaded.</summary>
    OpenBlas,

    /// <summary>OpenBLAS when it can be loaded, the managed kernel otherwise.</summary>
    Auto,
}
