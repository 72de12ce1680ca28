using Google.Protobuf;
using Microsoft.ML.Vae.Onnx.Protos;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// Fits an exported one-row graph to ML.NET 5.0.1's OnnxTransformer:
/// - scalar outputs (Score, PredictedLabel, LogLikelihood) become vectors of one value: OnnxTransformer maps a rank-0
///   output to a scalar column whose getter fails on every row (it reads the tensor as a sequence: ArgumentNullException
///   'source'), while a [1] output maps to a working Vector&lt;T, 1&gt; column;
/// - inputs that are also initializers (the detector's overridable threshold) become constants: ML.NET never feeds
///   them (a new threshold is a new export, see ChangeThreshold), and ONNX Runtime warns on every load about them.
/// </summary>
internal static class MLNetOnnxGraph
{
    private const string ShapeName = "vae_mlnet.shape_1";

    public static byte[] Adapt(byte[] model)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var graph = proto.Graph;
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet();
        foreach (var overridable in graph.Input.Where(i => initializers.Contains(i.Name)).ToList())
            graph.Input.Remove(overridable);

        var scalars = graph.Output.Where(o => o.Type.TensorType.Shape is null || o.Type.TensorType.Shape.Dim.Count == 0).ToList();
        if (scalars.Count > 0)
            graph.Initializer.Add(new TensorProto { Name = ShapeName, DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 1 }, Int64Data = { 1 } });
        foreach (var output in scalars)
        {
            string scalar = output.Name + ".scalar";
            foreach (var node in graph.Node)
                for (int i = 0; i < node.Output.Count; i++)
                    if (node.Output[i] == output.Name)
                        node.Output[i] = scalar;
            graph.Node.Add(new NodeProto { OpType = "Reshape", Name = output.Name + ".reshape", Input = { scalar, ShapeName }, Output = { output.Name } });
            output.Type.TensorType.Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimValue = 1 } } };
        }
        return proto.ToByteArray();
    }
}
