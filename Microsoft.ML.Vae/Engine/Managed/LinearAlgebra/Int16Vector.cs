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
}
