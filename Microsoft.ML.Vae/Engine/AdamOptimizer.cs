using System.Numerics.Tensors;

namespace Microsoft.ML.Vae.Engine;

/// <summary>Adam (Kingma and Ba 2015) with bias correction over a flat parameter vector.</summary>
internal sealed class AdamOptimizer
{
    private readonly float[] _firstMoment;
    private readonly float[] _secondMoment;
    private readonly float[] _scratch;

    public AdamOptimizer(int count)
    {
        _firstMoment = new float[count];
        _secondMoment = new float[count];
        _scratch = new float[count];
    }

    public void Reset()
    {
        Array.Clear(_firstMoment);
        Array.Clear(_secondMoment);
    }

    /// <summary>One step; <see cref="AdamSettings.Step"/> is 1 for the first step.</summary>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradient, in AdamSettings settings)
    {
        float b1 = settings.Beta1, b2 = settings.Beta2;
        // m = β1·m + (1−β1)·g ; v = β2·v + (1−β2)·g²
        TensorPrimitives.Multiply(_firstMoment, b1, _firstMoment);
        TensorPrimitives.MultiplyAdd(gradient, 1 - b1, _firstMoment, _firstMoment);
        TensorPrimitives.Multiply(gradient, gradient, _scratch);
        TensorPrimitives.Multiply(_scratch, 1 - b2, _scratch);
        TensorPrimitives.MultiplyAdd(_secondMoment, b2, _scratch, _secondMoment);
        float firstCorrection = 1f / (1f - MathF.Pow(b1, settings.Step));
        float secondCorrection = 1f / (1f - MathF.Pow(b2, settings.Step));
        // θ −= lr·m̂ / (√v̂ + ε)
        TensorPrimitives.Multiply(_secondMoment, secondCorrection, _scratch);
        TensorPrimitives.Sqrt(_scratch, _scratch);
        TensorPrimitives.Add(_scratch, settings.Epsilon, _scratch);
        TensorPrimitives.Divide(_firstMoment, _scratch, _scratch);
        TensorPrimitives.MultiplyAdd(_scratch, -settings.LearningRate * firstCorrection, parameters, parameters);
    }
}
