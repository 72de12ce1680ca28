using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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

        // op(B)[p, j] = b[j·ldb + p]: read each row of b contiguously and write it down a sliver column.
        for (int j = 0; j < nc; j++)
        {
            int s = j / columnsPerSliver;
            int width = s < fullSlivers ? columnsPerSliver : lastWidth;
            float* target = destination + s * sliverSize + (j - s * columnsPerSliver);
            float* source = b + (nint)(j0 + j) * ldb + p0;
            for (int p = 0; p < kc; p++)
                target[p * width] = source[p];
        }

        for (int j = lastCols; j < lastWidth; j++)
        {
            for (int p = 0; p < kc; p++)
                last[p * lastWidth + j] = 0;
        }
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
