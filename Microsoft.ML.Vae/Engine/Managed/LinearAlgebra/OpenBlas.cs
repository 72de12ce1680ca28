using System.Runtime.InteropServices;

namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// Optional binding to OpenBLAS's <c>cblas_sgemm</c>, loaded at first use from <c>libopenblas.so.0</c> (Debian/Ubuntu
/// package libopenblas0-pthread) or a platform-named <c>libopenblas</c>. Nothing fails when it is absent:
/// <see cref="IsAvailable"/> is false.
/// </summary>
internal static unsafe class OpenBlas
{
    private const int CblasRowMajor = 101;
    private const int CblasNoTrans = 111;
    private const int CblasTrans = 112;

    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float,
        float*, int, void> s_sgemm;

    private static readonly delegate* unmanaged<int, void> s_setThreadCount;

    /// <summary>The thread count last given to OpenBLAS; it is process-wide, so only changes are passed on.</summary>
    private static int s_threadCount;

    static OpenBlas()
    {
        if (!NativeLibrary.TryLoad("libopenblas.so.0", out nint library) &&
            !NativeLibrary.TryLoad("libopenblas", typeof(OpenBlas).Assembly, null, out library))
        {
            return;
        }

        if (NativeLibrary.TryGetExport(library, "cblas_sgemm", out nint sgemm))
            s_sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
        if (NativeLibrary.TryGetExport(library, "openblas_set_num_threads", out nint setThreads))
            s_setThreadCount = (delegate* unmanaged<int, void>)setThreads;
    }

    /// <summary>Whether the library and its <c>cblas_sgemm</c> export were found.</summary>
    public static bool IsAvailable => s_sgemm != null;

    /// <summary>Explains how to get the library, for errors raised when it is required but missing.</summary>
    public const string InstallHint =
        "libopenblas.so.0 could not be loaded; install it (Debian/Ubuntu: apt-get install libopenblas0-pthread) " +
        "or set VAE_GEMM=managed.";

    /// <summary>Row-major <c>cblas_sgemm</c> with OpenBLAS limited to <paramref name="threads"/> threads.</summary>
    public static void Multiply(Transpose transA, Transpose transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc, int threads)
    {
        if (!IsAvailable)
            throw new InvalidOperationException(InstallHint);

        int threadCount = Math.Max(1, threads);
        if (s_setThreadCount != null && Volatile.Read(ref s_threadCount) != threadCount)
        {
            s_setThreadCount(threadCount);
            Volatile.Write(ref s_threadCount, threadCount);
        }

        s_sgemm(CblasRowMajor, transA == Transpose.No ? CblasNoTrans : CblasTrans,
            transB == Transpose.No ? CblasNoTrans : CblasTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}
