using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.Vae.Mathematics;

/// <summary>
/// sin(πx) and cos(πx) together on 16 lanes, in float: the angle of the Box-Muller transform. x is reduced to
/// x = q/2 + r with |r| ≤ ¼ (exact in float), the Taylor series of sin and cos of πr are evaluated on [−π/4, π/4], and
/// the quarter turn q chooses the signs and the swap. Error about 1 ulp, for |x| up to 2^22.
/// </summary>
internal static class VectorSinCos
{
    private const float Pi = 3.14159265f;

    // Taylor coefficients: sin t = t (1 + t² s(t²)), cos t = 1 + t² c(t²); the next terms are below 2e-9 on |t| ≤ π/4.
    private const float S3 = -1f / 6, S5 = 1f / 120, S7 = -1f / 5040, S9 = 1f / 362880;
    private const float C2 = -1f / 2, C4 = 1f / 24, C6 = -1f / 720, C8 = 1f / 40320, C10 = -1f / 3628800;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float> Sin, Vector512<float> Cos) SinCosPi(Vector512<float> x)
    {
        var quarter = Vector512.Round(x * 2f);
        var t = Vector512.FusedMultiplyAdd(quarter, Vector512.Create(-0.5f), x) * Pi;
        var t2 = t * t;
        var s = Vector512.FusedMultiplyAdd(Vector512.Create(S9), t2, Vector512.Create(S7));
        s = Vector512.FusedMultiplyAdd(s, t2, Vector512.Create(S5));
        s = Vector512.FusedMultiplyAdd(s, t2, Vector512.Create(S3));
        var sin = Vector512.FusedMultiplyAdd(t * t2, s, t);
        var c = Vector512.FusedMultiplyAdd(Vector512.Create(C10), t2, Vector512.Create(C8));
        c = Vector512.FusedMultiplyAdd(c, t2, Vector512.Create(C6));
        c = Vector512.FusedMultiplyAdd(c, t2, Vector512.Create(C4));
        c = Vector512.FusedMultiplyAdd(c, t2, Vector512.Create(C2));
        var cos = Vector512.FusedMultiplyAdd(t2, c, Vector512<float>.One);
        // Quarter turn q: (sin, cos) of πq/2 + t is (s, c), (c, −s), (−s, −c), (−c, s) for q mod 4 = 0, 1, 2, 3.
        var q = Vector512.ConvertToInt32(quarter);
        var swap = Vector512.Equals(q & Vector512.Create(1), Vector512<int>.Zero).AsSingle();
        var sinSign = Vector512.ShiftLeft(q & Vector512.Create(2), 30).AsSingle();          // the sign bit for q = 2, 3
        var cosSign = Vector512.ShiftLeft((q + Vector512.Create(1)) & Vector512.Create(2), 30).AsSingle();  // q = 1, 2
        var sinResult = Vector512.ConditionalSelect(swap, sin, cos) ^ sinSign;
        var cosResult = Vector512.ConditionalSelect(swap, cos, sin) ^ cosSign;
        return (sinResult, cosResult);
    }
}
