using Google.Protobuf;
using Microsoft.ML.Vae.Onnx.Protos;

namespace Microsoft.ML.Vae.Onnx;

/// <summary>
/// Adds nodes to one ONNX graph (the main graph or a Scan body) and constants to the main graph, giving every
/// intermediate value a unique name. Subgraphs read the main graph's constants from the outer scope, so the weights are
/// stored once however many bodies use them.
/// </summary>
internal sealed partial class OnnxGraphBuilder
{
    private readonly OnnxGraphBuilder? _root;
    private int _counter;

    public OnnxGraphBuilder(string name)
    {
        Graph = new GraphProto { Name = name };
    }

    private OnnxGraphBuilder(OnnxGraphBuilder root, string name) : this(name) => _root = root;

    public GraphProto Graph { get; }

    /// <summary>A builder for a subgraph (a Scan body) whose constants go to this builder's main graph.</summary>
    public OnnxGraphBuilder Subgraph(string name) => new(_root ?? this, name);

    /// <summary>A value name not used elsewhere in the model (names are unique across the main graph and its subgraphs).</summary>
    public string Fresh(string hint) => $"{hint}_{(_root ?? this)._counter++}";

    public string Node(string op, string[] inputs, params AttributeProto[] attributes) => Node(op, inputs, 1, attributes)[0];

    public string[] Node(string op, string[] inputs, int outputCount, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Fresh(op) };
        node.Input.AddRange(inputs);
        for (int i = 0; i < outputCount; i++) node.Output.Add(Fresh(op.ToLowerInvariant()));
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return node.Output.ToArray();
    }

    /// <summary>Gives the value <paramref name="value"/> the name <paramref name="name"/> (for graph outputs).</summary>
    public void Rename(string value, string name) => Graph.Node.Add(new NodeProto { OpType = "Identity", Name = Fresh("Identity"), Input = { value }, Output = { name } });

    public string Constant(ReadOnlySpan<float> values, params long[] dims) =>
        AddInitializer(TensorProto.Types.DataType.Float, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values), dims, "const");

    public string Constant(ReadOnlySpan<double> values, params long[] dims) =>
        AddInitializer(TensorProto.Types.DataType.Double, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values), dims, "const");

    public string Constant(ReadOnlySpan<long> values, params long[] dims) =>
        AddInitializer(TensorProto.Types.DataType.Int64, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values), dims, "const");

    public string Scalar(float value) => Constant([value]);

    public string Scalar(double value) => Constant([value]);

    /// <summary>A one-element int64 vector, the form Reshape, Slice, TopK and the axes inputs take.</summary>
    public string Int64s(params long[] values) => Constant(values, values.Length);

    /// <summary>A main-graph constant with a given name, for a value a later rewrite looks up (the detector's threshold).</summary>
    public void NamedScalar(string name, double value)
    {
        var tensor = Tensor(TensorProto.Types.DataType.Double, System.Runtime.InteropServices.MemoryMarshal.AsBytes([value]), []);
        tensor.Name = name;
        Graph.Initializer.Add(tensor);
    }

    public void Input(string name, TensorProto.Types.DataType type, params object[] dims) => Graph.Input.Add(ValueInfo(name, type, dims));

    public void Output(string name, TensorProto.Types.DataType type, params object[] dims) => Graph.Output.Add(ValueInfo(name, type, dims));

    /// <summary>A typed value with dimensions given as numbers (fixed) or strings (symbolic, e.g. "N").</summary>
    public static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string symbol ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    /// <summary>A row-major <c>[rows, columns]</c> matrix transposed, for constants a product needs the other way round.</summary>
    public static T[] Transpose<T>(ReadOnlySpan<T> values, int rows, int columns)
    {
        var result = new T[values.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) result[c * rows + r] = values[r * columns + c];
        return result;
    }

    private string AddInitializer(TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes, long[] dims, string hint)
    {
        var root = _root ?? this;
        var tensor = Tensor(type, bytes, dims);
        tensor.Name = root.Fresh(hint);
        root.Graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    // ONNX stores raw_data little-endian, as .NET lays numbers out on every platform it runs this library on.
    private static TensorProto Tensor(TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes, long[] dims)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX export needs a little-endian machine.");
        var tensor = new TensorProto { DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }
}

/// <summary>The node attributes the exporter uses.</summary>
internal static class OnnxAttribute
{
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Graph(string name, GraphProto graph) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = graph };
}
