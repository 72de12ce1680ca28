using System.Runtime.CompilerServices;

namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>
/// The register-blocked inner kernel of <see cref="GemmBlocked"/>: a <see cref="Rows"/>×(2 vectors) tile of C is held
/// in 12 accumulators while a packed A sliver (<see cref="Rows"/> values per k) and a packed B sliver (2 vectors per k)
/// stream through, one fused multiply-add per accumulator and k. Each element of C is therefore a plain in-order FMA
/// chain over k, the same for every width and every tile position.
/// </summary>
internal static unsafe class GemmMicroKernel
{
    /// <summary>Rows of C per tile (the packed A sliver height).</summary>
    public const int Rows = 6;

    /// <summary>Columns of C per tile (the packed B sliver width) for a vector type.</summary>
    public static int Columns<TOps, TVec>() where TOps : IGemmVector<TVec> where TVec : unmanaged => 2 * TOps.Count;

    /// <summary>Largest tile of any width, for the scratch tile of partial edges.</summary>
    private const int MaxTile = Rows * 2 * 16;

    /// <summary>
    /// C[0..rows, 0..cols] = alpha·(A sliver · B sliver) + beta·C, where beta == 0 overwrites C without reading it.
    /// <paramref name="rows"/> and <paramref name="cols"/> are below the tile size only at the edges of C; the
    /// slivers are zero-padded there, and the full tile goes through a scratch buffer.
    /// </summary>
    [SkipLocalsInit]
    public static void Run<TOps, TVec>(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta,
        int rows, int cols)
        where TOps : IGemmVector<TVec> where TVec : unmanaged
    {
        int w = TOps.Count;
        TVec c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero, c20 = TOps.Zero, c21 = TOps.Zero;
        TVec c30 = TOps.Zero, c31 = TOps.Zero, c40 = TOps.Zero, c41 = TOps.Zero, c50 = TOps.Zero, c51 = TOps.Zero;
        for (int p = 0; p < kc; p++)
        {
            TVec b0 = TOps.Load(b);
            TVec b1 = TOps.Load(b + w);
            TVec x = TOps.Broadcast(a[0]);
            c00 = TOps.MultiplyAdd(x, b0, c00);
            c01 = TOps.MultiplyAdd(x, b1, c01);
            x = TOps.Broadcast(a[1]);
            c10 = TOps.MultiplyAdd(x, b0, c10);
            c11 = TOps.MultiplyAdd(x, b1, c11);
            x = TOps.Broadcast(a[2]);
            c20 = TOps.MultiplyAdd(x, b0, c20);
            c21 = TOps.MultiplyAdd(x, b1, c21);
            x = TOps.Broadcast(a[3]);
            c30 = TOps.MultiplyAdd(x, b0, c30);
            c31 = TOps.MultiplyAdd(x, b1, c31);
            x = TOps.Broadcast(a[4]);
            c40 = TOps.MultiplyAdd(x, b0, c40);
            c41 = TOps.MultiplyAdd(x, b1, c41);
            x = TOps.Broadcast(a[5]);
            c50 = TOps.MultiplyAdd(x, b0, c50);
            c51 = TOps.MultiplyAdd(x, b1, c51);
            a += Rows;
            b += 2 * w;
        }

        if (rows == Rows && cols == 2 * w)
        {
            Update<TOps, TVec>(c00, c, alpha, beta);
            Update<TOps, TVec>(c01, c + w, alpha, beta);
            c += ldc;
            Update<TOps, TVec>(c10, c, alpha, beta);
            Update<TOps, TVec>(c11, c + w, alpha, beta);
            c += ldc;
            Update<TOps, TVec>(c20, c, alpha, beta);
            Update<TOps, TVec>(c21, c + w, alpha, beta);
            c += ldc;
            Update<TOps, TVec>(c30, c, alpha, beta);
            Update<TOps, TVec>(c31, c + w, alpha, beta);
            c += ldc;
            Update<TOps, TVec>(c40, c, alpha, beta);
            Update<TOps, TVec>(c41, c + w, alpha, beta);
            c += ldc;
            Update<TOps, TVec>(c50, c, alpha, beta);
            Update<TOps, TVec>(c51, c + w, alpha, beta);
            return;
        }

        float* tile = stackalloc float[MaxTile];
        int ld = 2 * w;
        TOps.Store(c00, tile); TOps.Store(c01, tile + w);
        TOps.Store(c10, tile + ld); TOps.Store(c11, tile + ld + w);
        TOps.Store(c20, tile + 2 * ld); TOps.Store(c21, tile + 2 * ld + w);
        TOps.Store(c30, tile + 3 * ld); TOps.Store(c31, tile + 3 * ld + w);
        TOps.Store(c40, tile + 4 * ld); TOps.Store(c41, tile + 4 * ld + w);
        TOps.Store(c50, tile + 5 * ld); TOps.Store(c51, tile + 5 * ld + w);
        for (int i = 0; i < rows; i++)
        {
            float* row = c + (nint)i * ldc;
            for (int j = 0; j < cols; j++)
            {
                // Same operations as the vector Update, so edge elements round exactly like interior ones.
                float sum = tile[i * ld + j];
                row[j] = beta == 0 ? alpha * sum : MathF.FusedMultiplyAdd(alpha, sum, beta * row[j]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update<TOps, TVec>(TVec sum, float* c, float alpha, float beta)
        where TOps : IGemmVector<TVec> where TVec : unmanaged
    {
        TVec scaled = beta == 0
            ? TOps.Multiply(TOps.Broadcast(alpha), sum)
            : TOps.MultiplyAdd(TOps.Broadcast(alpha), sum, TOps.Multiply(TOps.Broadcast(beta), TOps.Load(c)));
        TOps.Store(scaled, c);
    }
}
