using Microsoft.ML.Vae.Onnx.Protos;

namespace Microsoft.ML.Vae.Onnx;

/// <summary>
/// The input and outputs of an exported graph in the two shapes <see cref="OnnxExportOptions.SingleRow"/> chooses:
/// batches <c>[N, F]</c> with a leading N on every output, or one row <c>[F]</c> with vectors <c>[width]</c> and
/// per-row numbers <c>[1]</c>. The graph in between always works on batches.
/// </summary>
internal sealed class OnnxGraphInterface
{
    private readonly OnnxGraphBuilder _graph;
    private readonly bool _singleRow;

    public OnnxGraphInterface(OnnxGraphBuilder graph, OnnxExportOptions options, int features)
    {
        _graph = graph;
        _singleRow = options.SingleRow;
        if (_singleRow)
        {
            graph.Input(options.InputName, TensorProto.Types.DataType.Float, features);
            Batch = graph.Unsqueeze(options.InputName, 0);
        }
        else
        {
            graph.Input(options.InputName, TensorProto.Types.DataType.Float, "N", features);
            Batch = options.InputName;
        }
    }

    /// <summary>The input as a batch <c>[N, F]</c>.</summary>
    public string Batch { get; }

    /// <summary>Declares the batch value <paramref name="value"/> (<c>[N]</c> or <c>[N, width]</c>) as the output <paramref name="name"/>.</summary>
    public void Output(string name, string value, TensorProto.Types.DataType type, int? width = null)
    {
        if (_singleRow)
        {
            // A batch of one: a per-row number is already [1]; a vector drops the batch axis.
            _graph.Rename(width is null ? value : _graph.Squeeze(value, 0), name);
            _graph.Output(name, type, width ?? 1);
        }
        else
        {
            _graph.Rename(value, name);
            if (width is { } w) _graph.Output(name, type, "N", w);
            else _graph.Output(name, type, "N");
        }
    }
}
