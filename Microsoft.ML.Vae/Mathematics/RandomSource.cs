using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.Vae.Mathematics;

/// <summary>
/// Seeded xoshiro256** generator. A source is identified by (seed, stream): independent streams let parallel work
/// (one stream per row or per batch) draw the same numbers whatever the thread count or chunking.
/// </summary>
internal sealed class RandomSource
{
    private const float UnitScale = 1f / (1 << 24);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the noise loop calls it per pair of values
    public ulong NextUInt64() => Next(ref _s0, ref _s1, ref _s2, ref _s3);

    /// <summary>One xoshiro256** step over a state held wherever the caller keeps it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Next(ref ulong s0, ref ulong s1, ref ulong s2, ref ulong s3)
    {
        ulong result = BitOperations.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t;
        s3 = BitOperations.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float NextFloat() => (NextUInt64() >> 40) * UnitScale;

    /// <summary>
    /// target[i] = 1 with probability p[i], else 0 (dynamic binarisation). Each 64-bit draw gives two 24-bit uniforms,
    /// halving the generator's share of a batch. The uniforms are written first and compared in a second, vectorised
    /// pass: a compare-and-branch per pixel mispredicts half the time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FillBernoulli(ReadOnlySpan<float> probabilities, Span<float> target)
    {
        int n = probabilities.Length, i = 0;
        if (target.Length != n) throw new ArgumentException($"{target.Length} targets for {n} probabilities.", nameof(target));
        if (target.Overlaps(probabilities)) throw new ArgumentException("The targets hold the uniforms first, so they must not overlap the probabilities.", nameof(target));
        // The generator's state in locals for the loop: as fields, every draw would go through memory, since the
        // stores to target might alias them.
        ulong s0 = _s0, s1 = _s1, s2 = _s2, s3 = _s3;
        ref float uniforms = ref MemoryMarshal.GetReference(target);
        for (; i + 1 < n; i += 2)
        {
            ulong bits = Next(ref s0, ref s1, ref s2, ref s3);
            Unsafe.Add(ref uniforms, i) = (int)(bits >> 40) * UnitScale;
            Unsafe.Add(ref uniforms, i + 1) = (int)((bits >> 8) & 0xFFFFFF) * UnitScale;
        }
        (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);
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

    /// <summary>
    /// Standard normal draws by the Box-Muller transform: per pair of uniforms (u1, u2), radius √(−2 log(1 − u1)) and
    /// angle 2π·u2; the first half of the span takes the cosines, the second the sines (an odd length drops the last
    /// sine). The transform runs on 16 lanes in float (<see cref="VectorLogSpace.Log"/>, <see cref="VectorSinCos"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FillNormal(Span<float> values)
    {
        int half = (values.Length + 1) / 2, width = Vector512<float>.Count;
        int padded = (half + width - 1) / width * width;
        if (_scratch.Length < 2 * padded) _scratch = new float[2 * padded];
        var radius = _scratch.AsSpan(0, padded);
        var angle = _scratch.AsSpan(padded, padded);
        ulong s0 = _s0, s1 = _s1, s2 = _s2, s3 = _s3;  // in locals, as in FillBernoulli
        for (int i = 0; i < half; i++)
        {
            radius[i] = 1f - (int)(Next(ref s0, ref s1, ref s2, ref s3) >> 40) * UnitScale; // (0, 1]: log stays finite
            angle[i] = 2f * ((int)(Next(ref s0, ref s1, ref s2, ref s3) >> 40) * UnitScale);
        }
        (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);
        radius[half..].Fill(1f);
        angle[half..].Clear();
        var cos = values[..half];
        var sin = values[half..];
        if (!Vector256.IsHardwareAccelerated)
        {
            for (int i = 0; i < half; i++)
            {
                float r = MathF.Sqrt(-2f * MathF.Log(radius[i]));
                cos[i] = r * MathF.Cos(MathF.PI * angle[i]);
                if (i < sin.Length) sin[i] = r * MathF.Sin(MathF.PI * angle[i]);
            }
            return;
        }
        Span<float> lanes = stackalloc float[2 * width];
        for (int i = 0; i < half; i += width)
        {
            var r = Vector512.Sqrt(VectorLogSpace.Log(Vector512.Create<float>(radius.Slice(i, width))) * -2f);
            var (s, c) = VectorSinCos.SinCosPi(Vector512.Create<float>(angle.Slice(i, width)));
            int count = Math.Min(width, half - i), sines = Math.Clamp(sin.Length - i, 0, count);
            if (count == width && sines == width)
            {
                (r * c).CopyTo(cos.Slice(i, width));
                (r * s).CopyTo(sin.Slice(i, width));
                continue;
            }
            (r * c).CopyTo(lanes);
            (r * s).CopyTo(lanes[width..]);
            lanes[..count].CopyTo(cos.Slice(i, count));
            lanes.Slice(width, sines).CopyTo(sin.Slice(i, sines));
        }
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
