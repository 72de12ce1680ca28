using System.Numerics.Tensors;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Engine.Managed.Layers;

/// <summary>Hidden-layer non-linearities, applied in place, with derivatives written in terms of the outputs.</summary>
internal static class Activations
{
    public static void Apply(Activation activation, Span<float> values)
    {
        switch (activation)
        {
            case Activation.Tanh: TensorPrimitives.Tanh(values, values); break;
            case Activation.Relu: TensorPrimitives.Max(values, 0f, values); break;
            case Activation.Softplus: Softplus(values); break;
            case Activation.Identity: break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    /// <summary>
    /// gradient ⊙= f'(pre-activation), with f' recovered from the output y = f(pre): tanh 1 − y², relu [y &gt; 0],
    /// softplus 1 − exp(−y) (the sigmoid of the pre-activation). Keeping outputs only halves the stored activations.
    /// </summary>
    public static void MultiplyByDerivative(Activation activation, ReadOnlySpan<float> outputs, Span<float> gradient, Span<float> scratch)
    {
        switch (activation)
        {
            case Activation.Tanh:
                TensorPrimitives.Multiply(outputs, outputs, scratch);
                TensorPrimitives.Subtract(1f, scratch, scratch);
                TensorPrimitives.Multiply(gradient, scratch, gradient);
                break;
            case Activation.Relu:
                for (int i = 0; i < gradient.Length; i++) if (outputs[i] <= 0) gradient[i] = 0;
                break;
            case Activation.Softplus:
                TensorPrimitives.Negate(outputs, scratch);
                TensorPrimitives.Exp(scratch, scratch);
                TensorPrimitives.Subtract(1f, scratch, scratch);
                TensorPrimitives.Multiply(gradient, scratch, gradient);
                break;
            case Activation.Identity: break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    private static void Softplus(Span<float> values)
    {
        for (int i = 0; i < values.Length; i++) values[i] = LogSpace.Softplus(values[i]);
    }
}
