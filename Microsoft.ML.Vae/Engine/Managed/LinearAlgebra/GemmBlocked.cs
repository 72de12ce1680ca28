using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// The managed SGEMM: cache-blocked (Goto/BLIS loop order), packed operands, SIMD micro-kernel, and parallel over
/// row or column ranges of C only. The K reduction is never split and its blocking depends on k alone, so every
/// element of C is computed by the same operations whatever the thread count, the scheduling or the SIMD width.
/// </summary>
internal static unsafe class GemmBlocked
{
    /// <summary>
    /// Largest K block. Long blocks pay the packing and the pass over C fewer times; the B sliver then streams from L2,
    /// which the kernel tolerates. 800 keeps 784-pixel rows in one block. Measured in docs/benchmarks-gemm.md.
    /// </summary>
    internal const int KcMax = 800;

    /// <summary>
    /// Rows of A per block: the largest multiple of the kernel's rows whose packed A block (Mc × KcMax floats) fills at
    /// most half of the core's L2, so the block stays there while B slivers and C tiles stream past it
    /// (1 MiB L2: 162 rows; 256 KiB: 36). Any value gives the same results: it does not split the K sums.
    /// </summary>
    private static readonly int Mc = RowBlock(GemmCache.L2Bytes);

    /// <summary>Columns of B per block (a multiple of every sliver width): the packed B block (kc × Nc) stays within L3.</summary>
    private const int Nc = 2048;

    /// <summary>
    /// Multiply-adds each worker must get before a call uses another. Through <see cref="WorkerTeam"/> two workers beat
    /// one from about 100 K multiply-adds on the 2-core Zen 4 build machine (GemmBench --scaling, 2026-11-26 20:20 UTC,
    /// idle: 48³ 0.87×, 64³ 1.14×, 80³ 1.37×, [100x50]·[50x200] 1.27×); with the thread pool's hand-off of 10–15 µs
    /// the break-even had been near 2 M. 2¹⁸ gives a product a second worker from 512 K multiply-adds, where the gain is
    /// over 1.3×. Per worker, not per machine: 16 cores put 16 workers only on products of 4 M and more
    /// (docs/benchmarks-gemm.md, "Workers per operation").
    /// </summary>
    internal const long MinWorkPerWorker = 1L << 18;

    /// <summary>The widest SIMD width this machine accelerates (AVX-512, AVX2 or NEON/SSE), scalar otherwise.</summary>
    public static GemmVectorWidth WidestAccelerated { get; } =
        Vector512.IsHardwareAccelerated ? GemmVectorWidth.Vector512 :
        Vector256.IsHardwareAccelerated ? GemmVectorWidth.Vector256 :
        Vector128.IsHardwareAccelerated ? GemmVectorWidth.Vector128 :
        GemmVectorWidth.Scalar;

    /// <summary>Rows per block for an L2 of <paramref name="l2Bytes"/>: see <see cref="Mc"/>.</summary>
    internal static int RowBlock(int l2Bytes)
    {
        const int rows = GemmMicroKernel.Rows;
        int fit = l2Bytes / 2 / (KcMax * sizeof(float)) / rows * rows;
        return Math.Max(rows, fit);
    }

    /// <summary>
    /// How many threads an m×n×k product runs on, given at most <paramref name="threads"/>: one per
    /// <see cref="MinWorkPerWorker"/> multiply-adds, at least one. (The results are the same for any worker count.)
    /// </summary>
    public static int Workers(int m, int n, int k, int threads)
        => (int)Math.Clamp((long)m * n * k / MinWorkPerWorker, 1, Math.Max(1, threads));

    /// <summary>
    /// The product on (at most) <paramref name="workers"/> threads, then <paramref name="epilogue"/> per finished block.
    /// </summary>
    public static void Multiply<TEpilogue>(GemmVectorWidth width, Transpose transA, Transpose transB, int m, int n,
        int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int workers,
        TEpilogue epilogue)
        where TEpilogue : struct, IGemmEpilogue
    {
        switch (width)
        {
            case GemmVectorWidth.Vector512:
                Multiply<GemmVector512, Vector512<float>, TEpilogue>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workers, epilogue);
                break;
            case GemmVectorWidth.Vector256:
                Multiply<GemmVector256, Vector256<float>, TEpilogue>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workers, epilogue);
                break;
            case GemmVectorWidth.Vector128:
                Multiply<GemmVector128, Vector128<float>, TEpilogue>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workers, epilogue);
                break;
            default:
                Multiply<GemmScalar, float, TEpilogue>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workers, epilogue);
                break;
        }
    }

    private static void Multiply<TOps, TVec, TEpilogue>(Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int workers, TEpilogue epilogue)
        where TOps : IGemmVector<TVec> where TVec : unmanaged where TEpilogue : struct, IGemmEpilogue
    {
        // Split the larger of M and N: each worker packs all of the other operand, so that copy is the smaller one.
        // With an epilogue always split rows, so that one thread finishes each row (the IGemmEpilogue contract).
        bool splitRows = m >= n || typeof(TEpilogue) != typeof(GemmNoEpilogue);
        int tileSize = splitRows ? GemmMicroKernel.Rows : 2 * TOps.Count;
        int tiles = ((splitRows ? m : n) + tileSize - 1) / tileSize;
        workers = Math.Clamp(workers, 1, tiles);
        if (workers == 1)
        {
            Run<TOps, TVec, TEpilogue>(transA, transB, 0, m, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);
            return;
        }

        RunParallel<TOps, TVec, TEpilogue>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, splitRows,
            tileSize, tiles, workers, epilogue);
    }

    /// <summary>
    /// Runs whole tiles of the split dimension per worker, spread evenly; the ranges depend only on the sizes and the
    /// worker count. (A separate method, so the single-threaded path does not allocate the lambda's closure.)
    /// </summary>
    private static void RunParallel<TOps, TVec, TEpilogue>(Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, bool splitRows, int tileSize,
        int tiles, int workers, TEpilogue epilogue)
        where TOps : IGemmVector<TVec> where TVec : unmanaged where TEpilogue : struct, IGemmEpilogue
    {
        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        int extent = splitRows ? m : n;
        WorkerTeam.Run(workers, worker =>
        {
            int start = Math.Min((int)((long)tiles * worker / workers) * tileSize, extent);
            int end = Math.Min((int)((long)tiles * (worker + 1) / workers) * tileSize, extent);
            if (splitRows)
                Run<TOps, TVec, TEpilogue>(transA, transB, start, end, 0, n, k, alpha, (float*)pa, lda, (float*)pb, ldb, beta, (float*)pc, ldc, epilogue);
            else
                Run<TOps, TVec, TEpilogue>(transA, transB, 0, m, start, end, k, alpha, (float*)pa, lda, (float*)pb, ldb, beta, (float*)pc, ldc, epilogue);
        });
    }

    /// <summary>
    /// C[m0..m1, n0..n1] on the calling thread; the epilogue gets each Mc×Nc block right after its last K block, so
    /// the blocks of a row come in increasing column order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TOps, TVec, TEpilogue>(Transpose transA, Transpose transB, int m0, int m1, int n0, int n1,
        int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, TEpilogue epilogue)
        where TOps : IGemmVector<TVec> where TVec : unmanaged where TEpilogue : struct, IGemmEpilogue
    {
        int nr = 2 * TOps.Count;
        const int mr = GemmMicroKernel.Rows;

        // Equal K blocks (e.g. k = 1000 gives 500 + 500 rather than 800 + 200); a function of k only.
        int kBlocks = (k + KcMax - 1) / KcMax;
        int kcStep = (k + kBlocks - 1) / kBlocks;

        // Buffers sized for this call's blocks; the B block starts on a cache line like the A block.
        int aSize = RoundUp(GemmPacking.PackedSizeA(Math.Min(Mc, m1 - m0), kcStep), 16);
        int bSize = GemmPacking.PackedSizeB(kcStep, Math.Min(Nc, n1 - n0), nr);
        float* packedA = GemmWorkspace.Rent(aSize + bSize);
        float* packedB = packedA + aSize;

        for (int jc = n0; jc < n1; jc += Nc)
        {
            int nc = Math.Min(Nc, n1 - jc);
            for (int pc = 0; pc < k; pc += kcStep)
            {
                int kc = Math.Min(kcStep, k - pc);
                GemmPacking.PackB(transB, b, ldb, pc, kc, jc, nc, nr, packedB);

                // The first K block applies beta; later blocks accumulate onto it.
                float blockBeta = pc == 0 ? beta : 1f;
                for (int ic = m0; ic < m1; ic += Mc)
                {
                    int mc = Math.Min(Mc, m1 - ic);
                    GemmPacking.PackA(transA, a, lda, ic, mc, pc, kc, packedA);
                    (nint aRowStride, nint aStepStride) = GemmPacking.StridesA(transA, kc);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int cols = Math.Min(nr, nc - jr);
                        bool narrow = GemmPacking.SliverWidth(cols, nr) < nr;
                        float* sliverB = packedB + (nint)jr * kc;
                        float* cColumn = c + jc + jr;
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            float* sliverA = packedA + (nint)ir * kc;
                            float* cTile = cColumn + (nint)(ic + ir) * ldc;
                            int rows = Math.Min(mr, mc - ir);
                            if (narrow)
                            {
                                GemmMicroKernel.RunNarrow<TOps, TVec>(kc, sliverA, aRowStride, aStepStride, sliverB,
                                    cTile, ldc, alpha, blockBeta, rows, cols);
                            }
                            else
                            {
                                GemmMicroKernel.Run<TOps, TVec>(kc, sliverA, aRowStride, aStepStride, sliverB,
                                    cTile, ldc, alpha, blockBeta, rows, cols);
                            }
                        }
                    }

                    if (pc + kc == k)
                        epilogue.Apply(ic, mc, jc, nc, new Span<float>(c + (nint)ic * ldc + jc, (mc - 1) * ldc + nc), ldc);
                }
            }
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
