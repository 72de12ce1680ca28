using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

/// <summary>
/// The integer SIMD operations of <see cref="Int16MicroKernel"/> over one width. A vector holds <see cref="Count"/>
/// int32 lanes, read as twice as many int16 values where the operands are pairs: lane j of
/// <see cref="MultiplyAddPairs"/> adds a[2j]·b[2j] + a[2j+1]·b[2j+1] (pmaddwd) to an int32 sum. The sums are exact,
/// so every width gives the same integers, and <see cref="StoreScaled"/> turns them into floats lane by lane with
/// the same two roundings.
/// </summary>
internal unsafe interface IInt16Vector<TVec> where TVec : unmanaged
{
    /// <summary>int32 lanes (output columns) per vector.</summary>
    static abstract int Count { get; }
    static abstract TVec Zero { get; }

    /// <summary>Every lane holds <paramref name="pair"/>: two int16 values of one row, at k = 2p and 2p + 1.</summary>
    static abstract TVec Broadcast(int pair);
    static abstract TVec Load(short* source);
    static abstract TVec MultiplyAddPairs(TVec a, TVec b, TVec sum);

    /// <summary>destination[j] = (float)sum[j]·columnScales[j]·rowScale.</summary>
    static abstract void StoreScaled(TVec sum, float* columnScales, float rowScale, float* destination);

    /// <summary>
    /// max |row[i]| over the floats of whole vectors of this width (<paramref name="done"/> of the <paramref name="k"/>),
    /// without the NaN handling of TensorPrimitives.MaxMagnitude, which cost as much as the quantisation: a NaN gives
    /// NaN or a finite maximum, and so NaN or garbage in C, as the float product would give NaN.
    /// </summary>
    static abstract float MaxMagnitude(float* row, int k, out int done);

    /// <summary>target[i] = round(row[i]·factor) as int16 over the floats of whole vectors of this width; returns how many.</summary>
    static abstract int Quantise(float* row, int k, float factor, short* target);
}

internal unsafe struct Int16Vector512 : IInt16Vector<Vector512<int>>
{
    public static int Count => Vector512<int>.Count;
    public static Vector512<int> Zero => Vector512<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Broadcast(int pair) => Vector512.Create(pair);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Load(short* source) => Vector512.Load((int*)source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAddPairs(Vector512<int> a, Vector512<int> b, Vector512<int> sum)
        => sum + Avx512BW.MultiplyAddAdjacent(a.AsInt16(), b.AsInt16());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreScaled(Vector512<int> sum, float* columnScales, float rowScale, float* destination)
        => (Vector512.ConvertToSingle(sum) * Vector512.Load(columnScales) * rowScale).Store(destination);

    public static float MaxMagnitude(float* row, int k, out int done)
    {
        var max = Vector512<float>.Zero;
        int i = 0;
        for (; i <= k - Vector512<float>.Count; i += Vector512<float>.Count)
            max = Vector512.MaxNative(max, Vector512.Abs(Vector512.Load(row + i)));
        done = i;
        var half = Vector256.MaxNative(max.GetLower(), max.GetUpper());
        var quarter = Vector128.MaxNative(half.GetLower(), half.GetUpper());
        return MathF.Max(MathF.Max(quarter[0], quarter[1]), MathF.Max(quarter[2], quarter[3]));
    }

    public static int Quantise(float* row, int k, float factor, short* target)
    {
        int i = 0, w = Vector512<float>.Count;
        for (; i <= k - 2 * w; i += 2 * w)
        {
            var low = Vector512.ConvertToInt32(Vector512.Round(Vector512.Load(row + i) * factor));
            var high = Vector512.ConvertToInt32(Vector512.Round(Vector512.Load(row + i + w) * factor));
            Vector512.Narrow(low, high).Store(target + i);
        }
        if (i <= k - w)
        {
            var values = Vector512.ConvertToInt32(Vector512.Round(Vector512.Load(row + i) * factor));
            Vector512.Narrow(values, Vector512<int>.Zero).GetLower().Store(target + i);
            i += w;
        }
        return i;
    }
}

internal unsafe struct Int16Vector256 : IInt16Vector<Vector256<int>>
{
    public static int Count => Vector256<int>.Count;
    public static Vector256<int> Zero => Vector256<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Broadcast(int pair) => Vector256.Create(pair);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Load(short* source) => Vector256.Load((int*)source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddPairs(Vector256<int> a, Vector256<int> b, Vector256<int> sum)
        => sum + Avx2.MultiplyAddAdjacent(a.AsInt16(), b.AsInt16());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreScaled(Vector256<int> sum, float* columnScales, float rowScale, float* destination)
        => (Vector256.ConvertToSingle(sum) * Vector256.Load(columnScales) * rowScale).Store(destination);

    public static float MaxMagnitude(float* row, int k, out int done)
    {
        var max = Vector256<float>.Zero;
        int i = 0;
        for (; i <= k - Vector256<float>.Count; i += Vector256<float>.Count)
            max = Vector256.MaxNative(max, Vector256.Abs(Vector256.Load(row + i)));
        done = i;
        var half = Vector128.MaxNative(max.GetLower(), max.GetUpper());
        return MathF.Max(MathF.Max(half[0], half[1]), MathF.Max(half[2], half[3]));
    }

    public static int Quantise(float* row, int k, float factor, short* target)
    {
        int i = 0, w = Vector256<float>.Count;
        for (; i <= k - 2 * w; i += 2 * w)
        {
            var low = Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(row + i) * factor));
            var high = Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(row + i + w) * factor));
            Vector256.Narrow(low, high).Store(target + i);
        }
        if (i <= k - w)
        {
            var values = Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(row + i) * factor));
            Vector256.Narrow(values, Vector256<int>.Zero).GetLower().Store(target + i);
            i += w;
        }
        return i;
    }
}
