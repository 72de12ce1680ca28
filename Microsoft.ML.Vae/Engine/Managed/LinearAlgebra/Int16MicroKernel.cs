using System.Runtime.CompilerServices;

namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// The register-blocked kernel of <see cref="Int16Gemm"/>: a <see cref="Rows"/>×(2 vectors) tile of int32 sums while
/// the rows' int16 pairs (one int32 per row and pair, rows <c>aRowStride</c> apart) and a sliver of
/// <see cref="Int16Weights"/> stream through, one pmaddwd and one add per accumulator and pair; then each sum becomes
/// sum·columnScale·rowScale in C. The integer sums are exact, so any tile, width or thread split gives the same result.
/// </summary>
internal static unsafe class Int16MicroKernel
{
    /// <summary>Rows of C per tile. Twelve rows measured no faster on Zen 4 (a scratch program, 1.45× the float tile's rate either way).</summary>
    public const int Rows = 6;

    private const int MaxTile = Rows * 2 * 16;

    /// <summary>
    /// C[0..rows, 0..cols] = the tile's sums scaled; <paramref name="rows"/> and <paramref name="cols"/> are below
    /// the tile only at the edges of C, where the tile goes through a scratch buffer (the padding is zero).
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TOps, TVec>(int pairs, int* a, nint aRowStride, short* b, float* columnScales, float* rowScales,
        float* c, int ldc, int rows, int cols)
        where TOps : IInt16Vector<TVec> where TVec : unmanaged
    {
        int w = TOps.Count;
        GemmMicroKernel.PrefetchTile(c, ldc, rows, cols);
        int* a0 = a, a1 = a + aRowStride, a2 = a + 2 * aRowStride;
        int* a3 = a + 3 * aRowStride, a4 = a + 4 * aRowStride, a5 = a + 5 * aRowStride;
        TVec c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero, c20 = TOps.Zero, c21 = TOps.Zero;
        TVec c30 = TOps.Zero, c31 = TOps.Zero, c40 = TOps.Zero, c41 = TOps.Zero, c50 = TOps.Zero, c51 = TOps.Zero;
        for (int p = 0; p < pairs; p++)
        {
            TVec b0 = TOps.Load(b);
            TVec b1 = TOps.Load(b + 2 * w);
            TVec x = TOps.Broadcast(a0[p]);
            c00 = TOps.MultiplyAddPairs(x, b0, c00);
            c01 = TOps.MultiplyAddPairs(x, b1, c01);
            x = TOps.Broadcast(a1[p]);
            c10 = TOps.MultiplyAddPairs(x, b0, c10);
            c11 = TOps.MultiplyAddPairs(x, b1, c11);
            x = TOps.Broadcast(a2[p]);
            c20 = TOps.MultiplyAddPairs(x, b0, c20);
            c21 = TOps.MultiplyAddPairs(x, b1, c21);
            x = TOps.Broadcast(a3[p]);
            c30 = TOps.MultiplyAddPairs(x, b0, c30);
            c31 = TOps.MultiplyAddPairs(x, b1, c31);
            x = TOps.Broadcast(a4[p]);
            c40 = TOps.MultiplyAddPairs(x, b0, c40);
            c41 = TOps.MultiplyAddPairs(x, b1, c41);
            x = TOps.Broadcast(a5[p]);
            c50 = TOps.MultiplyAddPairs(x, b0, c50);
            c51 = TOps.MultiplyAddPairs(x, b1, c51);
            b += 4 * w;
        }

        bool full = rows == Rows && cols == 2 * w;
        float* tile = stackalloc float[MaxTile];
        float* target = full ? c : tile;
        int ld = full ? ldc : 2 * w;
        float* s1 = columnScales + w;
        TOps.StoreScaled(c00, columnScales, rowScales[0], target);
        TOps.StoreScaled(c01, s1, rowScales[0], target + w);
        target += ld;
        TOps.StoreScaled(c10, columnScales, rowScales[1], target);
        TOps.StoreScaled(c11, s1, rowScales[1], target + w);
        target += ld;
        TOps.StoreScaled(c20, columnScales, rowScales[2], target);
        TOps.StoreScaled(c21, s1, rowScales[2], target + w);
        target += ld;
        TOps.StoreScaled(c30, columnScales, rowScales[3], target);
        TOps.StoreScaled(c31, s1, rowScales[3], target + w);
        target += ld;
        TOps.StoreScaled(c40, columnScales, rowScales[4], target);
        TOps.StoreScaled(c41, s1, rowScales[4], target + w);
        target += ld;
        TOps.StoreScaled(c50, columnScales, rowScales[5], target);
        TOps.StoreScaled(c51, s1, rowScales[5], target + w);
        if (!full)
            CopyEdge(tile, 2 * w, c, ldc, rows, cols);
    }

    /// <summary>As <see cref="Run"/> for a sliver of one vector per pair (the last, narrow sliver of a row of C).</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunNarrow<TOps, TVec>(int pairs, int* a, nint aRowStride, short* b, float* columnScales, float* rowScales,
        float* c, int ldc, int rows, int cols)
        where TOps : IInt16Vector<TVec> where TVec : unmanaged
    {
        int w = TOps.Count;
        GemmMicroKernel.PrefetchTile(c, ldc, rows, cols);
        int* a0 = a, a1 = a + aRowStride, a2 = a + 2 * aRowStride;
        int* a3 = a + 3 * aRowStride, a4 = a + 4 * aRowStride, a5 = a + 5 * aRowStride;
        TVec c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero, c4 = TOps.Zero, c5 = TOps.Zero;
        for (int p = 0; p < pairs; p++)
        {
            TVec b0 = TOps.Load(b);
            c0 = TOps.MultiplyAddPairs(TOps.Broadcast(a0[p]), b0, c0);
            c1 = TOps.MultiplyAddPairs(TOps.Broadcast(a1[p]), b0, c1);
            c2 = TOps.MultiplyAddPairs(TOps.Broadcast(a2[p]), b0, c2);
            c3 = TOps.MultiplyAddPairs(TOps.Broadcast(a3[p]), b0, c3);
            c4 = TOps.MultiplyAddPairs(TOps.Broadcast(a4[p]), b0, c4);
            c5 = TOps.MultiplyAddPairs(TOps.Broadcast(a5[p]), b0, c5);
            b += 2 * w;
        }

        bool full = rows == Rows && cols == w;
        float* tile = stackalloc float[MaxTile];
        float* target = full ? c : tile;
        int ld = full ? ldc : w;
        TOps.StoreScaled(c0, columnScales, rowScales[0], target);
        TOps.StoreScaled(c1, columnScales, rowScales[1], target + ld);
        TOps.StoreScaled(c2, columnScales, rowScales[2], target + 2 * ld);
        TOps.StoreScaled(c3, columnScales, rowScales[3], target + 3 * ld);
        TOps.StoreScaled(c4, columnScales, rowScales[4], target + 4 * ld);
        TOps.StoreScaled(c5, columnScales, rowScales[5], target + 5 * ld);
        if (!full)
            CopyEdge(tile, w, c, ldc, rows, cols);
    }

    /// <summary>The valid rows × cols of a partial tile from the scratch tile (row stride <paramref name="ld"/>) into C.</summary>
    private static void CopyEdge(float* tile, int ld, float* c, int ldc, int rows, int cols)
    {
        for (int i = 0; i < rows; i++)
            new ReadOnlySpan<float>(tile + i * ld, cols).CopyTo(new Span<float>(c + (nint)i * ldc, cols));
    }
}
