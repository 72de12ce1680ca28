using Microsoft.ML.Vae.Onnx.Protos;

namespace Microsoft.ML.Vae.Onnx;

/// <summary>
/// Runs a per-row computation over a batch <c>[N, columns]</c> in chunks of at most a given number of rows (an ONNX
/// Scan over the chunks), so that work whose memory grows with rows × samples stays bounded whatever N is. The batch is
/// split into ⌈N / limit⌉ equal chunks, padded with at most chunks − 1 zero rows that are cut from the result.
/// </summary>
internal static class OnnxRowChunks
{
    /// <param name="graph">The graph holding <paramref name="x"/>.</param>
    /// <param name="x">A float batch <c>[N, columns]</c>.</param>
    /// <param name="columns">Its known width.</param>
    /// <param name="rowLimit">The most rows one chunk holds.</param>
    /// <param name="body">Builds, in the body graph, one float output <c>[rows]</c> from a chunk <c>[rows, columns]</c>.</param>
    /// <returns>The body's output for every row, <c>[N]</c>.</returns>
    public static string Map(OnnxGraphBuilder graph, string x, long columns, long rowLimit, Func<OnnxGraphBuilder, string, string> body)
    {
        var n = graph.Slice(graph.Shape(x), graph.Int64s(0), graph.Int64s(1), 0);
        var one = graph.Int64s(1);
        var chunks = graph.Max(graph.Div(graph.Add(n, graph.Int64s(rowLimit - 1)), graph.Int64s(rowLimit)), one);
        var rowsPerChunk = graph.Div(graph.Add(n, graph.Sub(chunks, one)), chunks);
        var padding = graph.Sub(graph.Mul(chunks, rowsPerChunk), n);
        var zero = graph.Int64s(0);
        var padded = graph.Pad(x, graph.Concat(0, zero, zero, padding, zero));
        var stacked = graph.Reshape(padded, graph.Concat(0, chunks, rowsPerChunk, graph.Int64s(columns)));

        var bodyGraph = graph.Subgraph("chunk");
        string chunk = bodyGraph.Fresh("chunk");
        bodyGraph.Input(chunk, TensorProto.Types.DataType.Float, "rows", columns);
        string result = body(bodyGraph, chunk);
        string output = bodyGraph.Fresh("chunk_result");
        bodyGraph.Rename(result, output);
        bodyGraph.Output(output, TensorProto.Types.DataType.Float, "rows");

        var perChunk = graph.Node("Scan", [stacked], OnnxAttribute.Graph("body", bodyGraph.Graph), OnnxAttribute.Int("num_scan_inputs", 1));
        return graph.Slice(graph.Reshape(perChunk, -1), zero, n, 0);
    }
}
