namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous sliver layout <see cref="GemmMicroKernel"/> reads, so the
/// kernel's loads are sequential whatever the operands' transposition and leading dimensions. Slivers at the edges
/// are zero-padded to full size.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs op(A)[i0..i0+mc, p0..p0+kc] as slivers of <see cref="GemmMicroKernel.Rows"/> rows: within a sliver,
    /// element (r, p) goes to <c>p·Rows + r</c>; slivers follow one another.
    /// </summary>
    public static void PackA(Transpose transA, float* a, int lda, int i0, int mc, int p0, int kc, float* destination)
    {
        const int rowsPerSliver = GemmMicroKernel.Rows;
        for (int ir = 0; ir < mc; ir += rowsPerSliver)
        {
            int rows = Math.Min(rowsPerSliver, mc - ir);
            float* sliver = destination + (nint)ir * kc;
            if (transA == Transpose.No)
            {
                // op(A)[i, p] = a[i·lda + p]: read each row contiguously, write it down a sliver column.
                for (int r = 0; r < rows; r++)
                {
                    float* source = a + (nint)(i0 + ir + r) * lda + p0;
                    for (int p = 0; p < kc; p++)
                        sliver[p * rowsPerSliver + r] = source[p];
                }
            }
            else
            {
                // op(A)[i, p] = a[p·lda + i]: each k step of the sliver is a contiguous run of a.
                for (int p = 0; p < kc; p++)
                {
                    float* source = a + (nint)(p0 + p) * lda + i0 + ir;
                    for (int r = 0; r < rows; r++)
                        sliver[p * rowsPerSliver + r] = source[r];
                }
            }

            for (int r = rows; r < rowsPerSliver; r++)
            {
                for (int p = 0; p < kc; p++)
                    sliver[p * rowsPerSliver + r] = 0;
            }
        }
    }

    /// <summary>
    /// Packs op(B)[p0..p0+kc, j0..j0+nc] as slivers of <paramref name="columnsPerSliver"/> columns: within a sliver,
    /// element (p, j) goes to <c>p·columnsPerSliver + j</c>; slivers follow one another.
    /// </summary>
    public static void PackB(Transpose transB, float* b, int ldb, int p0, int kc, int j0, int nc, int columnsPerSliver,
        float* destination)
    {
        for (int jr = 0; jr < nc; jr += columnsPerSliver)
        {
            int cols = Math.Min(columnsPerSliver, nc - jr);
            float* sliver = destination + (nint)jr * kc;
            if (transB == Transpose.No)
            {
                // op(B)[p, j] = b[p·ldb + j]: each k step of the sliver is a contiguous run of b.
                nuint bytes = (nuint)cols * sizeof(float);
                nuint padding = (nuint)(columnsPerSliver - cols) * sizeof(float);
                for (int p = 0; p < kc; p++)
                {
                    float* target = sliver + p * columnsPerSliver;
                    Buffer.MemoryCopy(b + (nint)(p0 + p) * ldb + j0 + jr, target, bytes, bytes);
                    if (padding != 0)
                        new Span<byte>((byte*)(target + cols), (int)padding).Clear();
                }
            }
            else
            {
                // op(B)[p, j] = b[j·ldb + p]: read each row of b contiguously, write it down a sliver column.
                for (int j = 0; j < cols; j++)
                {
                    float* source = b + (nint)(j0 + jr + j) * ldb + p0;
                    for (int p = 0; p < kc; p++)
                        sliver[p * columnsPerSliver + j] = source[p];
                }

                for (int j = cols; j < columnsPerSliver; j++)
                {
                    for (int p = 0; p < kc; p++)
                        sliver[p * columnsPerSliver + j] = 0;
                }
            }
        }
    }
}
