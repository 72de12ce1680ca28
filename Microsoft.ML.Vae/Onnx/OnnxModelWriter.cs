using Google.Protobuf;
using Microsoft.ML.Vae.Onnx.Protos;

namespace Microsoft.ML.Vae.Onnx;

/// <summary>Wraps a graph into an ONNX model (IR version and opset below) and writes it.</summary>
internal static class OnnxModelWriter
{
    /// <summary>
    /// IR version 8 (ONNX 1.10+) and the default-domain opset 17 (ONNX 1.12, 2022): ONNX Runtime has run both since
    /// 1.12, so every 1.30+ runtime and ML.NET's OnnxTransformer load the graph with all graph optimisations on.
    /// </summary>
    public const long IrVersion = 8, Opset = 17;

    /// <summary>Checks <paramref name="options"/> (the defaults when null), builds the graph and writes the model.</summary>
    public static void Write(Stream stream, OnnxExportOptions? options, bool detector, Func<OnnxExportOptions, GraphProto> build)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= new OnnxExportOptions();
        options.Validate(detector);
        var graph = build(options);
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Microsoft.ML.Vae",
            ProducerVersion = typeof(OnnxModelWriter).Assembly.GetName().Version?.ToString() ?? "",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        model.WriteTo(stream);
    }
}
