using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// The register-blocked inner kernels of <see cref="GemmBlocked"/>: a <see cref="Rows"/>×(2 vectors) tile of C, or
/// <see cref="Rows"/>×(1 vector) for a narrow last column sliver, is held in accumulators while a packed A sliver
/// (<see cref="Rows"/> values per k, element (r, p) at <c>r·aRowStride + p·aStepStride</c>, see
/// <see cref="GemmPacking.PackA"/>) and a packed B sliver (1 or 2 vectors per k) stream through, one fused
/// multiply-add per accumulator and k. Each element of C is therefore a plain in-order FMA chain over k, the same for
/// every width, kernel and tile position.
/// </summary>
internal static unsafe class GemmMicroKernel
{
    /// <summary>Rows of C per tile (the packed A sliver height).</summary>
    public const int Rows = 6;

    /// <summary>Largest tile of any width, for the scratch tile of partial edges.</summary>
    private const int MaxTile = Rows * 2 * 16;

    /// <summary>
    /// C[0..rows, 0..cols] = alpha·(A sliver · B sliver) + beta·C for a B sliver of 2 vectors per k, where beta == 0
    /// overwrites C without reading it. <paramref name="rows"/> and <paramref name="cols"/> are below the tile size
    /// only at the edges of C; the slivers are zero-padded there and the tile goes through a scratch buffer.
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TOps, TVec>(int kc, float* a, nint aRowStride, nint aStepStride, float* b, float* c, int ldc,
        float alpha, float beta, int rows, int cols)
        where TOps : IGemmVector<TVec> where TVec : unmanaged
    {
        int w = TOps.Count;
        PrefetchTile(c, ldc, rows, cols);
        float* a0 = a, a1 = a + aRowStride, a2 = a + 2 * aRowStride;
        float* a3 = a + 3 * aRowStride, a4 = a + 4 * aRowStride, a5 = a + 5 * aRowStride;
        nint q = 0;
        TVec c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero, c20 = TOps.Zero, c21 = TOps.Zero;
        TVec c30 = TOps.Zero, c31 = TOps.Zero, c40 = TOps.Zero, c41 = TOps.Zero, c50 = TOps.Zero, c51 = TOps.Zero;
        for (int p = 0; p < kc; p++)
        {
            TVec b0 = TOps.Load(b);
            TVec b1 = TOps.Load(b + w);
            TVec x = TOps.Broadcast(a0[q]);
            c00 = TOps.MultiplyAdd(x, b0, c00);
            c01 = TOps.MultiplyAdd(x, b1, c01);
            x = TOps.Broadcast(a1[q]);
            c10 = TOps.MultiplyAdd(x, b0, c10);
            c11 = TOps.MultiplyAdd(x, b1, c11);
            x = TOps.Broadcast(a2[q]);
            c20 = TOps.MultiplyAdd(x, b0, c20);
            c21 = TOps.MultiplyAdd(x, b1, c21);
            x = TOps.Broadcast(a3[q]);
            c30 = TOps.MultiplyAdd(x, b0, c30);
            c31 = TOps.MultiplyAdd(x, b1, c31);
            x = TOps.Broadcast(a4[q]);
            c40 = TOps.MultiplyAdd(x, b0, c40);
            c41 = TOps.MultiplyAdd(x, b1, c41);
            x = TOps.Broadcast(a5[q]);
            c50 = TOps.MultiplyAdd(x, b0, c50);
            c51 = TOps.MultiplyAdd(x, b1, c51);
            q += aStepStride;
            b += 2 * w;
        }

        bool full = rows == Rows && cols == 2 * w;
        float* tile = stackalloc float[MaxTile];
        float* target = full ? c : tile;
        int ld = full ? ldc : 2 * w;
        // A partial tile keeps the plain sums (1·sum is exact) for UpdateEdge.
        float tileAlpha = full ? alpha : 1, tileBeta = full ? beta : 0;
        Update<TOps, TVec>(c00, target, tileAlpha, tileBeta);
        Update<TOps, TVec>(c01, target + w, tileAlpha, tileBeta);
        target += ld;
        Update<TOps, TVec>(c10, target, tileAlpha, tileBeta);
        Update<TOps, TVec>(c11, target + w, tileAlpha, tileBeta);
        target += ld;
        Update<TOps, TVec>(c20, target, tileAlpha, tileBeta);
        Update<TOps, TVec>(c21, target + w, tileAlpha, tileBeta);
        target += ld;
        Update<TOps, TVec>(c30, target, tileAlpha, tileBeta);
        Update<TOps, TVec>(c31, target + w, tileAlpha, tileBeta);
        target += ld;
        Update<TOps, TVec>(c40, target, tileAlpha, tileBeta);
        Update<TOps, TVec>(c41, target + w, tileAlpha, tileBeta);
        target += ld;
        Update<TOps, TVec>(c50, target, tileAlpha, tileBeta);
        Update<TOps, TVec>(c51, target + w, tileAlpha, tileBeta);
        if (!full)
            UpdateEdge(tile, 2 * w, c, ldc, rows, cols, alpha, beta);
    }

    /// <summary>As <see cref="Run"/> for a B sliver of one vector per k (the last, narrow sliver of a row of C).</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunNarrow<TOps, TVec>(int kc, float* a, nint aRowStride, nint aStepStride, float* b, float* c,
        int ldc, float alpha, float beta, int rows, int cols)
        where TOps : IGemmVector<TVec> where TVec : unmanaged
    {
        int w = TOps.Count;
        PrefetchTile(c, ldc, rows, cols);
        float* a0 = a, a1 = a + aRowStride, a2 = a + 2 * aRowStride;
        float* a3 = a + 3 * aRowStride, a4 = a + 4 * aRowStride, a5 = a + 5 * aRowStride;
        nint q = 0;
        TVec c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero, c4 = TOps.Zero, c5 = TOps.Zero;
        for (int p = 0; p < kc; p++)
        {
            TVec b0 = TOps.Load(b);
            c0 = TOps.MultiplyAdd(TOps.Broadcast(a0[q]), b0, c0);
            c1 = TOps.MultiplyAdd(TOps.Broadcast(a1[q]), b0, c1);
            c2 = TOps.MultiplyAdd(TOps.Broadcast(a2[q]), b0, c2);
            c3 = TOps.MultiplyAdd(TOps.Broadcast(a3[q]), b0, c3);
            c4 = TOps.MultiplyAdd(TOps.Broadcast(a4[q]), b0, c4);
            c5 = TOps.MultiplyAdd(TOps.Broadcast(a5[q]), b0, c5);
            q += aStepStride;
            b += w;
        }

        bool full = rows == Rows && cols == w;
        float* tile = stackalloc float[MaxTile];
        float* target = full ? c : tile;
        int ld = full ? ldc : w;
        // A partial tile keeps the plain sums (1·sum is exact) for UpdateEdge.
        float tileAlpha = full ? alpha : 1, tileBeta = full ? beta : 0;
        Update<TOps, TVec>(c0, target, tileAlpha, tileBeta);
        Update<TOps, TVec>(c1, target + ld, tileAlpha, tileBeta);
        Update<TOps, TVec>(c2, target + 2 * ld, tileAlpha, tileBeta);
        Update<TOps, TVec>(c3, target + 3 * ld, tileAlpha, tileBeta);
        Update<TOps, TVec>(c4, target + 4 * ld, tileAlpha, tileBeta);
        Update<TOps, TVec>(c5, target + 5 * ld, tileAlpha, tileBeta);
        if (!full)
            UpdateEdge(tile, w, c, ldc, rows, cols, alpha, beta);
    }

    /// <summary>C is read (or written) only after the k loop; fetching its lines first hides the misses behind it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void PrefetchTile(float* c, int ldc, int rows, int cols)
    {
        if (!Sse.IsSupported)
            return;
        for (int i = 0; i < rows; i++)
        {
            float* row = c + (nint)i * ldc;
            Sse.Prefetch0(row);
            Sse.Prefetch0(row + cols - 1);
        }
    }

    /// <summary>c = alpha·sum (beta == 0, c not read) or fma(alpha, sum, beta·c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update<TOps, TVec>(TVec sum, float* c, float alpha, float beta)
        where TOps : IGemmVector<TVec> where TVec : unmanaged
    {
        TVec scaled = beta == 0
            ? TOps.Multiply(TOps.Broadcast(alpha), sum)
            : TOps.MultiplyAdd(TOps.Broadcast(alpha), sum, TOps.Multiply(TOps.Broadcast(beta), TOps.Load(c)));
        TOps.Store(scaled, c);
    }

    /// <summary>Finishes a partial tile from its sums with the same operations as <see cref="Update"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UpdateEdge(float* tile, int ld, float* c, int ldc, int rows, int cols, float alpha, float beta)
    {
        for (int i = 0; i < rows; i++)
        {
            float* row = c + (nint)i * ldc;
            for (int j = 0; j < cols; j++)
            {
                float sum = tile[i * ld + j];
                row[j] = beta == 0 ? alpha * sum : MathF.FusedMultiplyAdd(alpha, sum, beta * row[j]);
            }
        }
    }
}
