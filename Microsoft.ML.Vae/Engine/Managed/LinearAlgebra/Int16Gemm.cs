using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// The low-precision product of <see cref="ScoringPrecision.Int16"/>: C = A·W for A <c>[rows, inputs]</c> in float
/// and W an <see cref="Int16Weights"/>, then an epilogue per block of rows while it is in cache (the dense layer's
/// bias and activation). Each row of A is quantised on the fly to int16 with its own scale (max |A[r, ·]| maps to the
/// weights' level), the int32 sums are exact, and C[r, j] = (float)sum·columnScale[j]·rowScale[r]. pmaddwd does
/// twice the fp32 FMA's multiply-adds per instruction; on Zen 4 the 6×32 tile runs at 1.45× the float tile's rate.
/// The result depends only on A and W: not on the thread count, the blocking or the vector width.
/// </summary>
internal static unsafe class Int16Gemm
{
    /// <summary>Floats of C per block of rows: the block, A's quantised rows and the weights stay in L2 for the epilogue.</summary>
    private const int BlockFloats = 1 << 16;

    /// <summary>The vector width the kernel runs with here, or <see cref="GemmVectorWidth.Scalar"/> when it cannot run (no AVX2).</summary>
    public static GemmVectorWidth Width { get; } =
        GemmBlocked.WidestAccelerated == GemmVectorWidth.Vector512 && Avx512BW.IsSupported ? GemmVectorWidth.Vector512 :
        Avx2.IsSupported ? GemmVectorWidth.Vector256 :
        GemmVectorWidth.Scalar;

    /// <summary>C = A·W, then <paramref name="epilogue"/> per finished block of rows (all columns), as <see cref="IGemmEpilogue"/> describes.</summary>
    public static void Multiply<TEpilogue>(ReadOnlySpan<float> a, int rows, Int16Weights weights, Span<float> c, int threads, TEpilogue epilogue)
        where TEpilogue : struct, IGemmEpilogue
    {
        int k = weights.Inputs, n = weights.Outputs;
        if (a.Length < rows * k) throw new ArgumentException($"A holds {a.Length} floats; {rows}×{k} needs {rows * k}.", nameof(a));
        if (c.Length < rows * n) throw new ArgumentException($"C holds {c.Length} floats; {rows}×{n} needs {rows * n}.", nameof(c));
        if (rows == 0) return;
        int tiles = (rows + Int16MicroKernel.Rows - 1) / Int16MicroKernel.Rows;
        int workers = Math.Min(GemmBlocked.Workers(rows, n, k, threads), tiles);
        fixed (float* pa = a, pc = c)
        {
            if (workers == 1)
            {
                Run(weights, pa, pc, 0, rows, epilogue);
                return;
            }
            RunParallel(weights, pa, pc, rows, tiles, workers, epilogue);
        }
    }

    /// <summary>Whole tiles of rows per worker, spread evenly (a separate method, so one worker allocates no closure).</summary>
    private static void RunParallel<TEpilogue>(Int16Weights weights, float* a, float* c, int rows, int tiles, int workers, TEpilogue epilogue)
        where TEpilogue : struct, IGemmEpilogue
    {
        nint pa = (nint)a, pc = (nint)c;
        WorkerTeam.Run(workers, worker =>
        {
            int start = Math.Min((int)((long)tiles * worker / workers) * Int16MicroKernel.Rows, rows);
            int end = Math.Min((int)((long)tiles * (worker + 1) / workers) * Int16MicroKernel.Rows, rows);
            Run(weights, (float*)pa, (float*)pc, start, end, epilogue);
        });
    }

    private static void Run<TEpilogue>(Int16Weights weights, float* a, float* c, int start, int end, TEpilogue epilogue)
        where TEpilogue : struct, IGemmEpilogue
    {
        if (weights.Width == GemmVectorWidth.Vector512)
            Run<Int16Vector512, Vector512<int>, TEpilogue>(weights, a, c, start, end, epilogue);
        else
            Run<Int16Vector256, Vector256<int>, TEpilogue>(weights, a, c, start, end, epilogue);
    }

    /// <summary>Rows [start, end) of C on the calling thread, a block of rows at a time: quantise, multiply, epilogue.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TOps, TVec, TEpilogue>(Int16Weights weights, float* a, float* c, int start, int end, TEpilogue epilogue)
        where TOps : IInt16Vector<TVec> where TVec : unmanaged where TEpilogue : struct, IGemmEpilogue
    {
        const int mr = Int16MicroKernel.Rows;
        int k = weights.Inputs, n = weights.Outputs, pairs = weights.Pairs, sliver = weights.SliverColumns;
        int blockRows = Math.Max(mr, BlockFloats / n / mr * mr);
        int bufferRows = Math.Min(blockRows, (end - start + mr - 1) / mr * mr);
        // One thread's buffer: the block's quantised rows (an int32 per pair), then their scales.
        float* buffer = GemmWorkspace.Rent(bufferRows * (pairs + 1));
        int* quantised = (int*)buffer;
        float* rowScales = buffer + (nint)bufferRows * pairs;
        float* columnScales = weights.ColumnScalePointer;
        for (int ic = start; ic < end; ic += blockRows)
        {
            int mc = Math.Min(blockRows, end - ic);
            int paddedRows = (mc + mr - 1) / mr * mr;
            Quantise<TOps, TVec>(a + (nint)ic * k, k, mc, paddedRows, pairs, weights.Level, (short*)quantised, rowScales);
            for (int s = 0; s < weights.Slivers; s++)
            {
                short* b = weights.Packed + (nint)s * pairs * sliver * 2;
                int cols = Math.Min(sliver, n - s * sliver);
                bool narrow = weights.SliverWidth(s) < sliver;
                for (int ir = 0; ir < mc; ir += mr)
                {
                    int* tileRows = quantised + (nint)ir * pairs;
                    float* tile = c + (nint)(ic + ir) * n + s * sliver;
                    int rows = Math.Min(mr, mc - ir);
                    if (narrow)
                        Int16MicroKernel.RunNarrow<TOps, TVec>(pairs, tileRows, pairs, b, columnScales + s * sliver, rowScales + ir, tile, n, rows, cols);
                    else
                        Int16MicroKernel.Run<TOps, TVec>(pairs, tileRows, pairs, b, columnScales + s * sliver, rowScales + ir, tile, n, rows, cols);
                }
            }
            epilogue.Apply(ic, mc, 0, n, new Span<float>(c + (nint)ic * n, mc * n), n);
        }
    }

    /// <summary>
    /// Row r of A to q[r, ·] = round(A[r, ·]·level/max |A[r, ·]|) (int16, 2·pairs per row, zero past k) and its scale
    /// max/level; the rows up to <paramref name="paddedRows"/> are zero (the last tile's padding). Every element is
    /// rounded the same way (to nearest, ties to even) in a vector or in the scalar tail.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Quantise<TOps, TVec>(float* a, int k, int rows, int paddedRows, int pairs, int level, short* q, float* scales)
        where TOps : IInt16Vector<TVec> where TVec : unmanaged
    {
        int stride = 2 * pairs;
        for (int r = 0; r < rows; r++)
        {
            float* row = a + (nint)r * k;
            short* target = q + (nint)r * stride;
            float max = TOps.MaxMagnitude(row, k, out int i);
            for (; i < k; i++) max = MathF.Max(max, MathF.Abs(row[i]));
            float inverse = max > 0 ? level / max : 0;
            scales[r] = max / level;
            for (i = TOps.Quantise(row, k, inverse, target); i < k; i++) target[i] = (short)MathF.Round(row[i] * inverse);
            if (k < stride) target[k] = 0;
        }
        new Span<short>(q + (nint)rows * stride, (paddedRows - rows) * stride).Clear();
        new Span<float>(scales + rows, paddedRows - rows).Clear();
    }
}
