using Microsoft.ML.Vae.Onnx.Protos;

namespace Microsoft.ML.Vae.Onnx;

/// <summary>The graph of <see cref="VaeModel.ExportOnnx(Stream, OnnxExportOptions?)"/>.</summary>
internal static class VaeOnnxExport
{
    public static GraphProto Build(VaeModel model, OnnxExportOptions options)
    {
        var graph = new OnnxGraphBuilder("Microsoft.ML.Vae.VaeModel");
        graph.Graph.DocString = $"VAE {model.InputSize}→{model.LatentSize}: posterior mean and log-variance, " +
            $"IWAE log p(x) with K = {options.LogLikelihoodSampleCount} shared noise draws of seed {options.Seed}, reconstruction.";
        var io = new OnnxGraphInterface(graph, options, model.InputSize);
        var vae = new VaeOnnxGraph(graph, model);
        const TensorProto.Types.DataType Float = TensorProto.Types.DataType.Float;
        var outputs = options.Outputs;
        if ((outputs & (OnnxOutputs.Embedding | OnnxOutputs.EmbeddingLogVariance | OnnxOutputs.Reconstruction)) != 0)
        {
            var (mean, logVariance) = vae.Embed(graph, io.Batch);
            if (outputs.HasFlag(OnnxOutputs.Embedding)) io.Output(options.EmbeddingName, mean, Float, model.LatentSize);
            if (outputs.HasFlag(OnnxOutputs.EmbeddingLogVariance)) io.Output(options.EmbeddingLogVarianceName, logVariance, Float, model.LatentSize);
            if (outputs.HasFlag(OnnxOutputs.Reconstruction)) io.Output(options.ReconstructionName, vae.Decode(graph, mean), Float, model.InputSize);
        }
        if (outputs.HasFlag(OnnxOutputs.LogLikelihood))
            io.Output(options.LogLikelihoodName, vae.LogLikelihood(io.Batch, options.LogLikelihoodSampleCount, options.Seed), Float);
        return graph.Graph;
    }
}
