using System.Numerics.Tensors;

namespace Microsoft.ML.Vae.Mathematics;

/// <summary>Numerically stable functions of quantities kept in log space.</summary>
public static class LogSpace
{
    /// <summary>log(2π).</summary>
    public const float LogTwoPi = 1.8378770664093453f;

    /// <summary>log Σ exp(values), shifted by the maximum so no term overflows; −∞ for an empty span or all −∞.</summary>
    public static double LogSumExp(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) return double.NegativeInfinity;
        float max = float.NegativeInfinity;
        foreach (float v in values) if (v > max) max = v;
        if (float.IsNegativeInfinity(max)) return double.NegativeInfinity;
        if (!float.IsFinite(max)) return max;
        double sum = 0;
        foreach (float v in values) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    /// <summary>log(1/K Σ exp(values)): the importance-weighted bound of one row from its K log weights.</summary>
    public static double LogMeanExp(ReadOnlySpan<float> values) => LogSumExp(values) - Math.Log(values.Length);

    /// <summary>
    /// exp(values − max) normalised to sum to 1, so no term overflows or underflows to 0/0 (TensorPrimitives.SoftMax
    /// does not shift, and returns NaN for log weights beyond about ±88).
    /// </summary>
    public static void Softmax(ReadOnlySpan<float> values, Span<float> result)
    {
        result = result[..values.Length];
        float max = TensorPrimitives.Max(values);
        TensorPrimitives.Subtract(values, max, result);
        TensorPrimitives.Exp(result, result);
        TensorPrimitives.Divide(result, TensorPrimitives.Sum(result), result);
    }

    /// <summary>log(1 + exp(x)) without overflow.</summary>
    public static float Softplus(float x) => x > 0 ? x + MathF.Log(1 + MathF.Exp(-x)) : MathF.Log(1 + MathF.Exp(x));

    /// <summary>
    /// Running log-sum-exp: adds <paramref name="value"/> to the pair (max, scaled sum) so a bound over many chunks of
    /// samples needs only two numbers per row.
    /// </summary>
    public static void Accumulate(ref double max, ref double sum, double value)
    {
        if (double.IsNegativeInfinity(value)) return;
        if (value <= max) { sum += Math.Exp(value - max); return; }
        sum = sum * Math.Exp(max - value) + 1;
        max = value;
    }
}
