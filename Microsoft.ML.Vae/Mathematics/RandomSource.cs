using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.Vae.Mathematics;

/// <summary>
/// Seeded xoshiro256** generator. A source is identified by (seed, stream): independent streams let parallel work
/// (one stream per row or per batch) draw the same numbers whatever the thread count or chunking.
/// </summary>
internal sealed class RandomSource
{
    private ulong _s0, _s1, _s2, _s3;
    private float[] _scratch = [];

    public RandomSource(int seed, long stream = 0)
    {
        // SplitMix64 expands (seed, stream) into the 256-bit state, as the xoshiro authors recommend.
        ulong x = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)stream * 0xD1B54A32D192ED03UL ^ 0x2545F4914F6CDD1DUL);
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the binarisation and noise loops call it per pair of values
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3; _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>
    /// target[i] = 1 with probability p[i], else 0 (dynamic binarisation). Each 64-bit draw gives two 24-bit uniforms,
    /// halving the generator's share of a batch. The uniforms are written first and compared in a second, vectorised
    /// pass: a compare-and-branch per pixel mispredicts half the time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FillBernoulli(ReadOnlySpan<float> probabilities, Span<float> target)
    {
        const float scale = 1f / (1 << 24);
        int n = probabilities.Length, i = 0;
        if (target.Length != n) throw new ArgumentException($"{target.Length} targets for {n} probabilities.", nameof(target));
        if (target.Overlaps(probabilities)) throw new ArgumentException("The targets hold the uniforms first, so they must not overlap the probabilities.", nameof(target));
        for (; i + 1 < n; i += 2)
        {
            ulong bits = NextUInt64();
            target[i] = (bits >> 40) * scale;
            target[i + 1] = ((bits >> 8) & 0xFFFFFF) * scale;
        }
        if (i < n) target[i] = NextFloat();
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float t = ref MemoryMarshal.GetReference(target);
            ref float q = ref MemoryMarshal.GetReference(probabilities);
            for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var below = Vector256.LessThan(Vector256.LoadUnsafe(ref t, (nuint)j), Vector256.LoadUnsafe(ref q, (nuint)j));
                (below & Vector256<float>.One).StoreUnsafe(ref t, (nuint)j);
            }
        }
        for (; j < n; j++) target[j] = target[j] < probabilities[j] ? 1f : 0f;
    }

    /// <summary>Uniform integer in [0, bound).</summary>
    public int NextInt(int bound) => (int)((NextUInt64() >> 33) % (ulong)bound);

    public void FillUniform(Span<float> values, float low, float high)
    {
        for (int i = 0; i < values.Length; i++) values[i] = low + (high - low) * NextFloat();
    }

    /// <summary>Standard normal draws by the Box-Muller transform, vectorised over the span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FillNormal(Span<float> values)
    {
        int half = (values.Length + 1) / 2;
        if (_scratch.Length < 2 * half) _scratch = new float[2 * half];
        var radius = _scratch.AsSpan(0, half);
        var angle = _scratch.AsSpan(half, half);
        for (int i = 0; i < half; i++)
        {
            radius[i] = 1f - NextFloat(); // (0, 1]: log stays finite
            angle[i] = 2f * NextFloat();
        }
        TensorPrimitives.Log(radius, radius);
        TensorPrimitives.Multiply(radius, -2f, radius);
        TensorPrimitives.Sqrt(radius, radius);
        var cos = values[..half];
        var sin = values[half..];
        // The two halves of the output take the cosine and sine branches; an odd length drops the last sine.
        TensorPrimitives.SinPi(angle[..sin.Length], sin);
        TensorPrimitives.Multiply(sin, radius[..sin.Length], sin);
        TensorPrimitives.CosPi(angle, cos);
        TensorPrimitives.Multiply(cos, radius, cos);
    }

    /// <summary>
    /// The noise engines take per latent value: N(0, 1) draws for Gaussian latents, U(0, 1) draws for categorical
    /// latents (the engine turns them into Gumbel noise).
    /// </summary>
    public void FillLatentNoise(Span<float> values, LatentKind latent)
    {
        if (latent == LatentKind.Categorical) FillUniform(values, 0f, 1f);
        else FillNormal(values);
    }

    /// <summary>Fisher-Yates shuffle.</summary>
    public void Shuffle(Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
