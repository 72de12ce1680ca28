namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>Which SIMD width the managed GEMM kernel runs with. All widths give bit-identical results.</summary>
internal enum GemmVectorWidth
{
    Scalar,
    Vector128,
    Vector256,
    Vector512,
}
