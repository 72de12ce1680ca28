namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>Whether a matrix operand of a <see cref="Gemm"/> product is used as stored or transposed.</summary>
internal enum Transpose { No, Yes }

/// <summary>
/// Row-major single-precision matrix product <c>C = alpha·op(A)·op(B) + beta·C</c>, op(A) is m×k, op(B) is k×n.
/// </summary>
/// <remarks>
/// <para>
/// The implementation is chosen by the environment variable <c>VAE_GEMM</c>, read once per process:
/// <c>managed</c> (the default when unset) runs <see cref="GemmBlocked"/>, a blocked SIMD kernel (AVX-512, AVX2, SSE
/// or NEON, scalar otherwise) whose results depend only on the inputs and <c>threads</c>, never on scheduling, and
/// are the same whatever the SIMD width, so training is reproducible without native dependencies.
/// <c>openblas</c> calls <c>cblas_sgemm</c> from <c>libopenblas.so.0</c> (package libopenblas0-pthread) and fails if
/// it is missing; <c>auto</c> uses OpenBLAS when it loads and the managed kernel otherwise. OpenBLAS results may
/// differ in the last bits from the managed ones and between thread counts.
/// </para>
/// <para>
/// As in BLAS, beta == 0 overwrites C without reading it (NaN or garbage in C is ignored), and alpha == 0 or k == 0
/// only scales C by beta, without reading A or B.
/// </para>
/// </remarks>
internal static unsafe class Gemm
{
    /// <summary>The environment variable that selects the provider.</summary>
    public const string ProviderVariable = "VAE_GEMM";

    private static GemmProvider? s_configuredProvider;

    /// <summary>The provider <c>VAE_GEMM</c> selects.</summary>
    public static GemmProvider ConfiguredProvider
        => s_configuredProvider ??= ParseProvider(Environment.GetEnvironmentVariable(ProviderVariable));

    public static void Multiply(Transpose transA, Transpose transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc, int threads)
        => Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads, default(GemmNoEpilogue));

    /// <summary>
    /// The product, then <paramref name="epilogue"/> on each finished block of C while it is in cache (see
    /// <see cref="IGemmEpilogue"/> for which thread gets which block). For example, a dense layer's
    /// <c>y = f(x·W + b)</c> is <c>Multiply(No, No, rows, outputs, inputs, 1, x, inputs, W, outputs, 0, y, outputs,
    /// threads, new GemmBiasActivation(b, f))</c>.
    /// </summary>
    public static void Multiply<TEpilogue>(Transpose transA, Transpose transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc, int threads,
        TEpilogue epilogue)
        where TEpilogue : struct, IGemmEpilogue
        => Multiply(ConfiguredProvider, GemmBlocked.WidestAccelerated, transA, transB, m, n, k, alpha, a, lda, b, ldb,
            beta, c, ldc, threads, epilogue);

    /// <summary>
    /// The product with an explicit provider and, for the managed provider, an explicit SIMD width (tests compare them).
    /// </summary>
    internal static void Multiply(GemmProvider provider, GemmVectorWidth width, Transpose transA, Transpose transB,
        int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta,
        Span<float> c, int ldc, int threads)
        => Multiply(provider, width, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads,
            default(GemmNoEpilogue));

    /// <summary>The product and epilogue with an explicit provider and SIMD width.</summary>
    internal static void Multiply<TEpilogue>(GemmProvider provider, GemmVectorWidth width, Transpose transA,
        Transpose transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b,
        int ldb, float beta, Span<float> c, int ldc, int threads, TEpilogue epilogue)
        where TEpilogue : struct, IGemmEpilogue
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        CheckOperand(a.Length, transA == Transpose.No ? m : k, transA == Transpose.No ? k : m, lda, "A", nameof(a), nameof(lda));
        CheckOperand(b.Length, transB == Transpose.No ? k : n, transB == Transpose.No ? n : k, ldb, "B", nameof(b), nameof(ldb));
        CheckOperand(c.Length, m, n, ldc, "C", nameof(c), nameof(ldc));
        if (m == 0 || n == 0)
            return;

        if (k == 0 || alpha == 0)
        {
            ScaleRows(c, m, n, ldc, beta);
            epilogue.Apply(0, m, 0, n, c, ldc);
            return;
        }

        if (provider == GemmProvider.Auto)
            provider = OpenBlas.IsAvailable ? GemmProvider.OpenBlas : GemmProvider.Managed;

        fixed (float* pa = a, pb = b, pc = c)
        {
            if (provider == GemmProvider.OpenBlas)
            {
                OpenBlas.Multiply(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, threads);
                epilogue.Apply(0, m, 0, n, c, ldc);
            }
            else
            {
                GemmBlocked.Multiply(width, transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc,
                    GemmBlocked.Workers(m, n, k, threads), epilogue);
            }
        }
    }

    internal static GemmProvider ParseProvider(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "managed" => GemmProvider.Managed,
        "openblas" => GemmProvider.OpenBlas,
        "auto" => GemmProvider.Auto,
        _ => throw new InvalidOperationException(
            $"Environment variable {ProviderVariable}='{value}' is not a GEMM provider; use managed, openblas or auto."),
    };

    /// <summary>Checks that a row-major rows×cols operand with leading dimension ld fits in its span.</summary>
    private static void CheckOperand(int length, int rows, int cols, int ld, string matrix, string spanName, string ldName)
    {
        if (ld < Math.Max(1, cols))
        {
            throw new ArgumentOutOfRangeException(ldName, ld,
                $"Leading dimension of {matrix} must be at least its stored row width {cols} (and at least 1).");
        }

        long needed = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < needed)
        {
            throw new ArgumentException(
                $"{matrix} holds {length} floats but a {rows}×{cols} matrix with leading dimension {ld} needs {needed}.",
                spanName);
        }
    }

    /// <summary>C = beta·C over an m×n block; beta == 0 clears it without reading.</summary>
    private static void ScaleRows(Span<float> c, int m, int n, int ldc, float beta)
    {
        for (int i = 0; i < m; i++)
        {
            Span<float> row = c.Slice(i * ldc, n);
            if (beta == 0)
                row.Clear();
            else if (beta != 1)
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }
}
