namespace Microsoft.ML.Vae.Mathematics;

/// <summary>
/// The counter-based generator of the libtorch device loop and device scoring (native/src/counter_random.cpp, bit for
/// bit): every draw is a hash of (seed, stream, counter, element index), so any element of any step can be drawn
/// anywhere, in any order, without state. The hash is two rounds of lowbias32 (from Chris Wellons' hash-prospector)
/// over 32-bit words; the native side computes it in int64 tensors with every product below 2^63.
/// </summary>
internal readonly struct CounterRandom
{
    private const uint MixFirst = 0x7feb352d, MixSecond = 0x846ca68b;
    // Odd constants from the digits of pi and the golden ratio: they keep a zero word from mapping to zero.
    private const uint Golden = 0x9e3779b9, SeedSalt = 0x243f6a88, SecondKeySalt = 0x85a308d3, PairSalt = 0x13198a2e;
    private const float UnitScale = 1f / (1 << 24);

    private readonly uint _keyA, _keyB;

    /// <summary>The draws of <paramref name="counter"/> (an epoch, an Adam step, a row) of stream <paramref name="stream"/> of <paramref name="seed"/>.</summary>
    public CounterRandom(int seed, long stream, long counter)
    {
        uint state = Mix((uint)seed ^ SeedSalt) + Golden;
        state = Mix(state ^ (uint)stream) + Golden;
        state = Mix(state ^ (uint)((ulong)stream >> 32)) + Golden;
        _keyA = Mix((Mix(state ^ (uint)counter) + Golden) ^ (uint)((ulong)counter >> 32));
        _keyB = Mix(_keyA ^ SecondKeySalt);
    }

    internal static uint Mix(uint x)
    {
        x ^= x >> 16;
        x *= MixFirst;
        x ^= x >> 15;
        x *= MixSecond;
        return x ^ (x >> 16);
    }

    /// <summary>32 random bits of element <paramref name="index"/>.</summary>
    public uint Bits(long index) => Mix(Mix((uint)index ^ _keyA) ^ ((uint)((ulong)index >> 32) + _keyB));

    /// <summary>Uniform in [0, 1) with 24 bits.</summary>
    public float Uniform(long index) => Unit(Bits(index));

    /// <summary>Standard normal (Box-Muller, cosine branch) from the element's bits and a second hash of them.</summary>
    public float Normal(long index)
    {
        uint bits = Bits(index);
        float radius = MathF.Sqrt(MathF.Log(1f - Unit(bits)) * -2f);
        return radius * MathF.Cos(Unit(Mix(bits ^ PairSalt)) * (2f * MathF.PI));
    }

    private static float Unit(uint bits) => (bits >> 8) * UnitScale;

    /// <summary>Normals of elements firstIndex, firstIndex + 1, ...</summary>
    public void FillNormal(Span<float> values, long firstIndex = 0)
    {
        for (int i = 0; i < values.Length; i++) values[i] = Normal(firstIndex + i);
    }

    /// <summary>target[i] = 1 when the uniform of element firstIndex + i lies below probabilities[i] (dynamic binarisation).</summary>
    public void FillBernoulli(ReadOnlySpan<float> probabilities, Span<float> target, long firstIndex = 0)
    {
        for (int i = 0; i < probabilities.Length; i++) target[i] = Uniform(firstIndex + i) < probabilities[i] ? 1f : 0f;
    }

    /// <summary>An order of 0..rows-1: the rows sorted by their bits, ties by row (as the device's sort of packed keys).</summary>
    public int[] Permutation(int rows)
    {
        var keys = new long[rows];
        for (int r = 0; r < rows; r++) keys[r] = (long)Bits(r) << 31 | (uint)r;
        Array.Sort(keys);
        var order = new int[rows];
        for (int r = 0; r < rows; r++) order[r] = (int)(keys[r] & int.MaxValue);
        return order;
    }
}
