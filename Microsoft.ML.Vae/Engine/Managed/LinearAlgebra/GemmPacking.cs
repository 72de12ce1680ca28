using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous sliver layout <see cref="GemmMicroKernel"/> reads, so the
/// kernel's loads are sequential whatever the operands' transposition and leading dimensions. Slivers at the edges
/// are zero-padded to full size.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs op(A)[i0..i0+mc, p0..p0+kc] as slivers of <see cref="GemmMicroKernel.Rows"/> rows, laid out so that the
    /// copy reads A sequentially whichever way it is stored: element (r, p) of a sliver goes to <c>r·kc + p</c> when A
    /// is not transposed (rows of A are contiguous) and to <c>p·Rows + r</c> when it is (columns are). Slivers
    /// follow one another, kc·Rows floats apart; the last is zero-padded to full height.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(Transpose transA, float* a, int lda, int i0, int mc, int p0, int kc, float* destination)
    {
        const int rowsPerSliver = GemmMicroKernel.Rows;
        if (transA == Transpose.No)
        {
            nuint rowBytes = (nuint)kc * sizeof(float);
            for (int i = 0; i < mc; i++)
                Buffer.MemoryCopy(a + (nint)(i0 + i) * lda + p0, destination + (nint)i * kc, rowBytes, rowBytes);
            int paddedRows = (mc + rowsPerSliver - 1) / rowsPerSliver * rowsPerSliver;
            new Span<float>(destination + (nint)mc * kc, (paddedRows - mc) * kc).Clear();
            return;
        }

        // op(A)[i, p] = a[p·lda + i]: read each row of a once, contiguously, and deal it out over the slivers.
        int fullSlivers = mc / rowsPerSliver;
        int lastRows = mc - fullSlivers * rowsPerSliver;
        nint sliverSize = (nint)rowsPerSliver * kc;
        for (int p = 0; p < kc; p++)
        {
            float* source = a + (nint)(p0 + p) * lda + i0;
            float* target = destination + p * rowsPerSliver;
            // Six floats per sliver as one 16-byte and one 8-byte move (Rows is 6) rather than six scalar copies: halved
            // this packing's share of a transposed-A product (perf, Gᵀ·dO, 2026-11-26).
            for (int s = 0; s < fullSlivers; s++, source += rowsPerSliver, target += sliverSize)
            {
                Vector128.Load(source).Store(target);
                *(ulong*)(target + 4) = *(ulong*)(source + 4);
            }

            if (lastRows > 0)
            {
                for (int r = 0; r < rowsPerSliver; r++)
                    target[r] = r < lastRows ? source[r] : 0;
            }
        }
    }

    /// <summary>The (row, k step) strides of a sliver packed by <see cref="PackA"/>.</summary>
    public static (nint Row, nint Step) StridesA(Transpose transA, int kc)
        => transA == Transpose.No ? (kc, 1) : (1, GemmMicroKernel.Rows);

    /// <summary>
    /// Packs op(B)[p0..p0+kc, j0..j0+nc] as slivers of <paramref name="columnsPerSliver"/> columns: within a sliver,
    /// element (p, j) goes to <c>p·width + j</c>; slivers follow one another. The last sliver is half as wide when
    /// at most half of it is left, for <see cref="GemmMicroKernel.RunNarrow"/>, and zero-padded to its width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(Transpose transB, float* b, int ldb, int p0, int kc, int j0, int nc, int columnsPerSliver,
        float* destination)
    {
        int fullSlivers = nc / columnsPerSliver;
        int lastCols = nc - fullSlivers * columnsPerSliver;
        int lastWidth = lastCols == 0 ? 0 : SliverWidth(lastCols, columnsPerSliver);
        nint sliverSize = (nint)columnsPerSliver * kc;
        float* last = destination + fullSlivers * sliverSize;
        if (transB == Transpose.No)
        {
            // op(B)[p, j] = b[p·ldb + j]: read each row of b once, contiguously, and deal it out over the slivers.
            nuint sliverBytes = (nuint)columnsPerSliver * sizeof(float);
            nuint lastBytes = (nuint)lastCols * sizeof(float);
            for (int p = 0; p < kc; p++)
            {
                float* source = b + (nint)(p0 + p) * ldb + j0;
                float* target = destination + p * columnsPerSliver;
                for (int s = 0; s < fullSlivers; s++, source += columnsPerSliver, target += sliverSize)
                    Buffer.MemoryCopy(source, target, sliverBytes, sliverBytes);
                if (lastCols > 0)
                {
                    float* lastRow = last + p * lastWidth;
                    Buffer.MemoryCopy(source, lastRow, lastBytes, lastBytes);
                    new Span<float>(lastRow + lastCols, lastWidth - lastCols).Clear();
                }
            }

            return;
        }

        // op(B)[p, j] = b[j·ldb + p]: rows of b become sliver columns. In slivers at least eight wide, eight rows by
        // eight steps at a time go through an in-register transpose. One float at a time, each write on a new cache
        // line, the thread packing the input gradients' Wᵀ at K = 1 spent a fifth as long packing as multiplying
        // (perf samples, 408 against 2043); with the transposes a twelfth (162 against 2010).
        int blockedSteps = kc / 8 * 8;
        for (int s = 0; s * columnsPerSliver < nc; s++)
        {
            int width = s < fullSlivers ? columnsPerSliver : lastWidth;
            int columns = Math.Min(columnsPerSliver, nc - s * columnsPerSliver);
            int blockedColumns = Avx.IsSupported && width % 8 == 0 ? columns / 8 * 8 : 0;
            float* sliver = destination + s * sliverSize;
            float* rows = b + (nint)(j0 + s * columnsPerSliver) * ldb + p0;
            for (int c = 0; c < blockedColumns; c += 8)
            {
                for (int p = 0; p < blockedSteps; p += 8)
                    Transpose8x8(rows + (nint)c * ldb + p, ldb, sliver + (nint)p * width + c, width);
                for (int p = blockedSteps; p < kc; p++)
                {
                    for (int r = c; r < c + 8; r++)
                        sliver[p * width + r] = rows[(nint)r * ldb + p];
                }
            }

            for (int c = blockedColumns; c < columns; c++)
            {
                for (int p = 0; p < kc; p++)
                    sliver[p * width + c] = rows[(nint)c * ldb + p];
            }
        }

        for (int j = lastCols; j < lastWidth; j++)
        {
            for (int p = 0; p < kc; p++)
                last[p * lastWidth + j] = 0;
        }
    }

    /// <summary>
    /// target[p·targetStride + c] = source[c·sourceStride + p] for an 8 × 8 block: eight rows loaded, transposed with
    /// unpacks, shuffles and lane swaps, stored as eight rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* source, int sourceStride, float* target, int targetStride)
    {
        var r0 = Avx.LoadVector256(source);
        var r1 = Avx.LoadVector256(source + sourceStride);
        var r2 = Avx.LoadVector256(source + 2 * (nint)sourceStride);
        var r3 = Avx.LoadVector256(source + 3 * (nint)sourceStride);
        var r4 = Avx.LoadVector256(source + 4 * (nint)sourceStride);
        var r5 = Avx.LoadVector256(source + 5 * (nint)sourceStride);
        var r6 = Avx.LoadVector256(source + 6 * (nint)sourceStride);
        var r7 = Avx.LoadVector256(source + 7 * (nint)sourceStride);
        // Pairs of rows interleaved, then quadruples, then the 128-bit halves exchanged.
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(target, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(target + targetStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(target + 2 * (nint)targetStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(target + 3 * (nint)targetStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(target + 4 * (nint)targetStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(target + 5 * (nint)targetStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(target + 6 * (nint)targetStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(target + 7 * (nint)targetStride, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>Floats <see cref="PackA"/> writes for an mc × kc block.</summary>
    public static int PackedSizeA(int mc, int kc)
        => (mc + GemmMicroKernel.Rows - 1) / GemmMicroKernel.Rows * GemmMicroKernel.Rows * kc;

    /// <summary>Floats <see cref="PackB"/> writes for a kc × nc block.</summary>
    public static int PackedSizeB(int kc, int nc, int columnsPerSliver)
    {
        int lastCols = nc % columnsPerSliver;
        return (nc - lastCols + (lastCols == 0 ? 0 : SliverWidth(lastCols, columnsPerSliver))) * kc;
    }

    /// <summary>The packed width of a sliver holding <paramref name="cols"/> columns: full, or half for a narrow last one.</summary>
    public static int SliverWidth(int cols, int columnsPerSliver)
        => cols <= columnsPerSliver / 2 ? columnsPerSliver / 2 : columnsPerSliver;
}
