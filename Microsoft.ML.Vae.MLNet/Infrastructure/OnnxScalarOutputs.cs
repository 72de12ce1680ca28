using Google.Protobuf;
using Microsoft.ML.Vae.Onnx.Protos;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// Turns the scalar outputs of a one-row graph (Score, PredictedLabel, LogLikelihood) into vectors of one value.
/// ML.NET 5.0.1's OnnxTransformer maps a rank-0 output to a scalar column whose getter fails on every row (it reads
/// the tensor as a sequence: ArgumentNullException 'source'); a [1] output maps to a working Vector&lt;T, 1&gt; column.
/// </summary>
internal static class OnnxScalarOutputs
{
    private const string ShapeName = "vae_mlnet.shape_1";

    public static byte[] AsVectors(byte[] model)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var graph = proto.Graph;
        var scalars = graph.Output.Where(o => o.Type.TensorType.Shape is null || o.Type.TensorType.Shape.Dim.Count == 0).ToList();
        if (scalars.Count == 0)
            return model;
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
