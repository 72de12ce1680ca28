using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.Vae.Mathematics;

/// <summary>
/// Single-precision vector exp and log: exp(x) for x ≤ 0 and log(1 + e) for e in [−0.3, 1] (the Bernoulli likelihood's
/// softplus and sigmoid), and exp and log over their whole float range (the latent scales, mixture weights and the
/// Gaussian noise). The runtime's vector Exp/Log evaluate in double precision, and until the JIT tiers them up they run
/// precompiled code without AVX-512; these stay in float with errors of a few ulp, which is what the float32 results
/// they feed can hold anyway.
/// </summary>
internal static class VectorLogSpace
{
    private const float Log2E = 1.44269504f;
    private const float Ln2High = 0.693359375f;      // ln 2 split so n·Ln2High is exact for |n| ≤ 126
    private const float Ln2Low = -2.12194440e-4f;
    private const float MinimumArgument = -87.3f;     // exp below this is under float's normal range: flush to ~0
    private const float MaximumArgument = 88.72283f;  // exp above this overflows float

    /// <summary>exp(x) for x ≤ 0 (larger x are not supported), relative error below 2e-7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // a call passes the vectors through memory
    public static Vector512<float> ExpNonPositive(Vector512<float> x)
    {
        var (p, n) = Reduce(Vector512.Max(x, Vector512.Create(MinimumArgument)));
        // 2^n from the exponent bits; n ≥ −126 after the clamp.
        return p * Vector512.ShiftLeft(n + Vector512.Create(127), 23).AsSingle();
    }

    /// <summary>
    /// exp(x): relative error below 2e-7; +∞ above 88.72, about 1.2e-38 (not 0) below −87.3, NaN for NaN.
    /// 2^n is applied in two halves, because n reaches 128, one past the largest exponent a float holds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var (p, n) = Reduce(Vector512.Min(Vector512.Max(x, Vector512.Create(MinimumArgument)), Vector512.Create(MaximumArgument)));
        var half = Vector512.ShiftRightArithmetic(n, 1);
        var scale = Vector512.ShiftLeft(half + Vector512.Create(127), 23).AsSingle();
        var rest = Vector512.ShiftLeft(n - half + Vector512.Create(127), 23).AsSingle();
        var result = p * scale * rest;
        result = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(MaximumArgument)), Vector512.Create(float.PositiveInfinity), result);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }

    /// <summary>e^r and n with x = n·ln 2 + r, |r| ≤ ln2/2, for x in [−87.3, 88.73].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> Polynomial, Vector512<int> Exponent) Reduce(Vector512<float> x)
    {
        var n = Vector512.Round(x * Log2E);
        // r = x − n·ln 2 in two steps (Cody and Waite), |r| ≤ ln2/2.
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2High), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Low), r);
        // Taylor polynomial of e^r to degree 7 (truncation < 6e-9 on |r| ≤ 0.347).
        var p = Vector512.Create(1f / 5040);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 720));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        return (p, Vector512.ConvertToInt32(n));
    }

    /// <summary>
    /// log(y) for positive normal floats y (the noise's uniforms, never below 2^−24): y = 2^e·m with m in [√½, √2), and
    /// log y = e·ln 2 + log(1 + (m − 1)). Error below 2.5 ulp (tested).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Log(Vector512<float> y)
    {
        var bits = y.AsInt32();
        var exponent = Vector512.ShiftRightArithmetic(bits, 23) - Vector512.Create(127);
        var mantissa = ((bits & Vector512.Create(0x007FFFFF)) | Vector512.Create(0x3F800000)).AsSingle();  // [1, 2)
        var high = Vector512.GreaterThan(mantissa, Vector512.Create(1.41421356f));
        mantissa = Vector512.ConditionalSelect(high, mantissa * 0.5f, mantissa);
        var e = Vector512.ConvertToSingle(exponent - high.AsInt32());  // a true lane of the mask is −1
        return Vector512.FusedMultiplyAdd(e, Vector512.Create(Ln2High),
            Vector512.FusedMultiplyAdd(e, Vector512.Create(Ln2Low), Log1PUnit(mantissa - Vector512<float>.One)));
    }

    /// <summary>
    /// log(1 + e) for e in [−0.3, 1] as 2·atanh(t), t = e/(2 + e), |t| ≤ 1/3: no cancellation for tiny e
    /// (log(1 + e) ≈ e), series truncation below 2e-9 relative.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Log1PUnit(Vector512<float> e)
    {
        var t = e / (Vector512.Create(2f) + e);
        var t2 = t * t;
        var s = Vector512.Create(1f / 15);
        s = Vector512.FusedMultiplyAdd(s, t2, Vector512.Create(1f / 13));
        s = Vector512.FusedMultiplyAdd(s, t2, Vector512.Create(1f / 11));
        s = Vector512.FusedMultiplyAdd(s, t2, Vector512.Create(1f / 9));
        s = Vector512.FusedMultiplyAdd(s, t2, Vector512.Create(1f / 7));
        s = Vector512.FusedMultiplyAdd(s, t2, Vector512.Create(1f / 5));
        s = Vector512.FusedMultiplyAdd(s, t2, Vector512.Create(1f / 3));
        s = Vector512.FusedMultiplyAdd(s, t2, Vector512<float>.One);
        return 2f * t * s;
    }
}
