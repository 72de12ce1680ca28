using Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.Managed.Layers;

/// <summary>
/// The int16 copies of a <see cref="DenseStack"/>'s weights for <see cref="ScoringPrecision.Int16"/>, quantised
/// once per set of parameters: one <see cref="Int16Weights"/> per layer, or null for a layer with more than
/// <see cref="Int16Weights.MaxInputs"/> inputs, which stays in float.
/// </summary>
internal sealed class Int16StackWeights
{
    private readonly Int16Weights?[] _hidden;
    private readonly Int16Weights?[] _heads;

    public Int16StackWeights(IReadOnlyList<DenseLayer> hidden, IReadOnlyList<DenseLayer> heads, ReadOnlySpan<float> parameters, GemmVectorWidth width)
    {
        _hidden = new Int16Weights?[hidden.Count];
        for (int i = 0; i < hidden.Count; i++) _hidden[i] = Quantise(hidden[i], parameters, width);
        _heads = new Int16Weights?[heads.Count];
        for (int h = 0; h < heads.Count; h++) _heads[h] = Quantise(heads[h], parameters, width);
    }

    public Int16Weights? Hidden(int layer) => _hidden[layer];

    public Int16Weights? Head(int head) => _heads[head];

    private static Int16Weights? Quantise(DenseLayer layer, ReadOnlySpan<float> parameters, GemmVectorWidth width) =>
        layer.Inputs <= Int16Weights.MaxInputs
            ? new Int16Weights(parameters.Slice(layer.Weight.Offset, layer.Weight.Length), layer.Inputs, layer.Outputs, width)
            : null;
}
