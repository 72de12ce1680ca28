using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.Vae.Mathematics;

/// <summary>
/// Single-precision vector forms of exp(x) for x ≤ 0 and log(1 + e) for e in [0, 1]: the two transcendental functions
/// of the Bernoulli likelihood (softplus and the sigmoid). The runtime's vector Exp/Log evaluate in double precision;
/// these stay in float with errors of a few ulp, which is what a float32 log-likelihood can hold anyway.
/// </summary>
internal static class VectorLogSpace
{
    private const float Log2E = 1.44269504f;
    private const float Ln2High = 0.693359375f;      // ln 2 split so n·Ln2High is exact for |n| ≤ 126
    private const float Ln2Low = -2.12194440e-4f;
    private const float MinimumArgument = -87.3f;     // exp below this is under float's normal range: flush to ~0

    /// <summary>exp(x) for x ≤ 0 (larger x are not supported), relative error below 2e-7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // a call passes the vectors through memory
    public static Vector512<float> ExpNonPositive(Vector512<float> x)
    {
        x = Vector512.Max(x, Vector512.Create(MinimumArgument));
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
        // 2^n from the exponent bits; n ≥ −126 after the clamp.
        var twoToN = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return p * twoToN;
    }

    /// <summary>
    /// log(1 + e) for e in [0, 1] as 2·atanh(t), t = e/(2 + e) ≤ 1/3: no cancellation for tiny e (log(1 + e) ≈ e),
    /// series truncation below 2e-9 relative.
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
