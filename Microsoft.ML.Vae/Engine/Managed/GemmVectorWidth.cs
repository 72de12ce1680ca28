using System.Runtime.Intrinsics;

namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>Which SIMD width the managed GEMM kernel runs with. All widths give bit-identical results.</summary>
internal enum GemmVectorWidth
{
    Scalar,
    Vector128,
    Vector256,
    Vector512,
}

internal static class GemmVectorWidthExtensions
{
    /// <summary>The widest width this machine accelerates (AVX-512 → 512, AVX2 → 256, SSE/NEON → 128).</summary>
    public static GemmVectorWidth Widest { get; } =
        Vector512.IsHardwareAccelerated ? GemmVectorWidth.Vector512 :
        Vector256.IsHardwareAccelerated ? GemmVectorWidth.Vector256 :
        Vector128.IsHardwareAccelerated ? GemmVectorWidth.Vector128 :
        GemmVectorWidth.Scalar;
}
