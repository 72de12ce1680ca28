using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// A weight matrix W, <c>[inputs, outputs]</c> row-major (a dense layer's y = x·W), quantised to int16 per output
/// column for <see cref="Int16Gemm"/>: q[p, j] = round(W[p, j]·<see cref="Level"/>/max_p |W[p, j]|), so that
/// W[p, j] ≈ q[p, j]·<see cref="ColumnScales"/>[j]. Stored in slivers of <see cref="SliverColumns"/> columns
/// (two vectors of the width; the last may be half as wide), and within a sliver by pairs of inputs, the two int16
/// values one pmaddwd lane multiplies: sliver s of width w, pair p, column c of the sliver, half h at
/// <c>s·Pairs·SliverColumns·2 + (p·w + c)·2 + h</c>. Zero-padded to whole slivers and an even input count.
/// </summary>
internal sealed unsafe class Int16Weights
{
    /// <summary>
    /// Layers with more inputs stay in float: the sums of <see cref="Level"/>² products must fit in an int32, which
    /// leaves 2048 inputs 10 bits and a sign per value.
    /// </summary>
    public const int MaxInputs = 2048;

    private const int AlignmentShorts = 32;  // a cache line: the kernel's vector loads never straddle two
    private readonly short[] _storage;
    private readonly float[] _columnScales;

    public Int16Weights(ReadOnlySpan<float> weights, int inputs, int outputs, GemmVectorWidth width)
    {
        if (inputs < 1 || inputs > MaxInputs)
            throw new ArgumentOutOfRangeException(nameof(inputs), inputs, $"An int16 layer takes 1 to {MaxInputs} inputs.");
        if (weights.Length != inputs * outputs)
            throw new ArgumentException($"Expected {inputs}×{outputs} weights, got {weights.Length}.", nameof(weights));
        Width = width;
        Inputs = inputs;
        Outputs = outputs;
        Pairs = (inputs + 1) / 2;
        Level = LevelFor(inputs);
        SliverColumns = 2 * width switch
        {
            GemmVectorWidth.Vector512 => 16,
            GemmVectorWidth.Vector256 => 8,
            _ => throw new ArgumentOutOfRangeException(nameof(width), width, "The int16 kernel runs on 256- or 512-bit vectors."),
        };
        Slivers = (outputs + SliverColumns - 1) / SliverColumns;
        int lastColumns = outputs - (Slivers - 1) * SliverColumns;
        LastSliverColumns = lastColumns <= SliverColumns / 2 ? SliverColumns / 2 : SliverColumns;
        int columns = (Slivers - 1) * SliverColumns + LastSliverColumns;

        _columnScales = GC.AllocateArray<float>(columns, pinned: true);
        var inverse = new float[columns];
        for (int j = 0; j < outputs; j++)
        {
            float max = 0;
            for (int p = 0; p < inputs; p++) max = MathF.Max(max, MathF.Abs(weights[p * outputs + j]));
            _columnScales[j] = max / Level;
            inverse[j] = max > 0 ? Level / max : 0;
        }

        _storage = GC.AllocateArray<short>(columns * Pairs * 2 + AlignmentShorts, pinned: true);
        fixed (short* start = _storage)
        {
            nint misalignment = (nint)start & (AlignmentShorts * sizeof(short) - 1);
            Packed = misalignment == 0 ? start : (short*)((byte*)start + AlignmentShorts * sizeof(short) - misalignment);
        }
        short* target = Packed;
        for (int s = 0; s < Slivers; s++)
            for (int p = 0; p < Pairs; p++)
                for (int c = 0; c < SliverWidth(s); c++)
                    for (int h = 0; h < 2; h++)
                    {
                        int row = 2 * p + h, column = s * SliverColumns + c;
                        *target++ = row < inputs && column < outputs
                            ? (short)MathF.Round(weights[row * outputs + column] * inverse[column])
                            : (short)0;
                    }
    }

    public GemmVectorWidth Width { get; }

    public int Inputs { get; }

    public int Outputs { get; }

    /// <summary>Input pairs: inputs rounded up to even, halved.</summary>
    public int Pairs { get; }

    /// <summary>The largest quantised magnitude, of the weights and of the inputs multiplied with them.</summary>
    public int Level { get; }

    /// <summary>Columns of a full sliver: two vectors of int32 lanes.</summary>
    public int SliverColumns { get; }

    /// <summary>
    /// Columns of the last sliver: half a sliver (one vector, for <see cref="Int16MicroKernel.RunNarrow"/>) when at most
    /// half is left, so that 200 outputs compute 208 columns rather than 224, and 784 exactly 784.
    /// </summary>
    public int LastSliverColumns { get; }

    /// <summary>Columns of sliver <paramref name="sliver"/>; each starts Pairs·SliverColumns·2 values after the one before.</summary>
    public int SliverWidth(int sliver) => sliver == Slivers - 1 ? LastSliverColumns : SliverColumns;

    public int Slivers { get; }

    /// <summary>max_p |W[p, j]|/<see cref="Level"/> per column (0 for the padding).</summary>
    public ReadOnlySpan<float> ColumnScales => _columnScales;

    /// <summary><see cref="ColumnScales"/> for the kernel (pinned storage, like <see cref="Packed"/>).</summary>
    public float* ColumnScalePointer => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_columnScales));

    /// <summary>The packed values, aligned to a cache line; valid while this object lives (pinned storage).</summary>
    public short* Packed { get; }

    /// <summary>
    /// The largest level L ≤ 32767 with which a sum over <paramref name="inputs"/> (rounded up to even) products of
    /// two values in [−L, L] stays within int32, so the kernel's integer sums never wrap.
    /// </summary>
    public static int LevelFor(int inputs)
    {
        long terms = (inputs + 1) / 2 * 2L;
        return (int)Math.Min(short.MaxValue, Math.Floor(Math.Sqrt(int.MaxValue / (double)terms)));
    }
}
