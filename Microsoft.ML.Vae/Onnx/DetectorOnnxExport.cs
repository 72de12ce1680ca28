using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.Onnx.Protos;
using DataType = Microsoft.ML.Vae.Onnx.Protos.TensorProto.Types.DataType;

namespace Microsoft.ML.Vae.Onnx;

/// <summary>
/// The graph of <see cref="VaeAnomalyDetector.ExportOnnx(Stream, OnnxExportOptions?)"/>: the detector's feature
/// scaling, each member's score as <see cref="AnomalyScorer"/> computes it, the ensemble's standardised mean and the
/// verdict against the threshold, a named constant that VaeAnomalyDetector.ChangeOnnxThreshold rewrites. Scores use the detector's own K and seed (its threshold was calibrated
/// with them); double precision where the library computes in double.
/// </summary>
internal static class DetectorOnnxExport
{
    /// <summary>Query × reference distances one chunk of the neighbour score holds (doubles: 32 MB).</summary>
    private const long DistancesPerChunk = 1 << 22;

    public static GraphProto Build(VaeAnomalyDetector detector, OnnxExportOptions options)
    {
        var graph = new OnnxGraphBuilder("Microsoft.ML.Vae.VaeAnomalyDetector");
        graph.Graph.DocString = $"Anomaly detector ({detector.ScoreKind}, {detector.Members.Count} model(s), K = {detector.EvaluationSampleCount}, " +
            $"seed {detector.ScoringSeed}): Score (higher = more anomalous) and PredictedLabel = Score > {options.ThresholdName}.";
        var io = new OnnxGraphInterface(graph, options, detector.InputSize);
        var scaled = detector.Scaler is { } scaler ? Scale(graph, scaler, io.Batch) : io.Batch;
        var scores = detector.Members.Select(member => MemberScore(graph, member, scaled, detector.EvaluationSampleCount, detector.ScoringSeed)).ToArray();
        var score = detector.Standardizations is { } standardizations ? EnsembleMean(graph, scores, standardizations) : scores[0];
        graph.NamedScalar(options.ThresholdName, detector.Threshold);
        io.Output(options.ScoreName, score, DataType.Float);
        io.Output(options.PredictedLabelName, graph.Greater(graph.Cast(score, DataType.Double), options.ThresholdName), DataType.Bool);
        return graph.Graph;
    }

    private static string Scale(OnnxGraphBuilder g, FeatureScaler scaler, string x)
    {
        var scaled = g.Mul(g.Sub(x, g.Constant(scaler.Offset, scaler.Columns)), g.Constant(scaler.Scale, scaler.Columns));
        return scaler.ClipToUnitRange ? g.Clip(scaled, g.Scalar(0f), g.Scalar(1f)) : scaled;
    }

    private static string MemberScore(OnnxGraphBuilder g, AnomalyScorer member, string x, int sampleCount, int seed)
    {
        var vae = new VaeOnnxGraph(g, member.Model);
        switch (member.Kind)
        {
            case AnomalyScoreKind.NegativeLogLikelihood:
                return g.Neg(vae.LogLikelihood(x, sampleCount, seed));
            case AnomalyScoreKind.LikelihoodRatio:
                var background = new VaeOnnxGraph(g, member.BackgroundModel!);
                return g.Sub(background.LogLikelihood(x, sampleCount, seed), vae.LogLikelihood(x, sampleCount, seed));
            case AnomalyScoreKind.LikelihoodAndLatentDistance:
                var latent = member.LatentDistance!;
                var negativeLogLikelihood = g.Cast(g.Neg(vae.LogLikelihood(x, sampleCount, seed)), DataType.Double);
                var squaredDistance = g.Cast(g.ReduceSumSquare(Whiten(g, latent.Latent.Whitening, vae.Embed(g, x).Mean), 1), DataType.Double);
                return g.Cast(g.Add(Standardize(g, negativeLogLikelihood, latent.Likelihood), Standardize(g, squaredDistance, latent.Distance)), DataType.Float);
            case AnomalyScoreKind.LatentNeighbourDistance:
                var neighbours = member.LatentNeighbours!;
                var (mean, logVariance) = vae.Embed(g, x);
                var white = Whiten(g, neighbours.Whitening, g.Concat(1, mean, logVariance));
                return MeanNeighbourDistance(g, neighbours, white);
            default:
                throw new InvalidOperationException($"Unknown score kind {member.Kind}.");
        }
    }

    /// <summary>Whitened rows as float, computed in double as <see cref="Whitening.Apply"/>: (u − m)·L⁻ᵀ.</summary>
    private static string Whiten(OnnxGraphBuilder g, Whitening whitening, string rows)
    {
        int d = whitening.Dimensions;
        var centred = g.Sub(g.Cast(rows, DataType.Double), g.Constant(whitening.Mean, d));
        return g.Cast(g.MatMul(centred, g.Constant(OnnxGraphBuilder.Transpose(whitening.InverseFactor, d, d), d, d)), DataType.Float);
    }

    /// <summary>
    /// Mean distance to the k nearest reference rows, from ‖q‖² − 2 q·r + ‖r‖² in double (so the expansion loses
    /// nothing against the library's direct float differences), in chunks of rows that bound the distance matrix.
    /// </summary>
    private static string MeanNeighbourDistance(OnnxGraphBuilder g, LatentNeighbours neighbours, string white)
    {
        int d = neighbours.Dimensions;
        var reference = neighbours.Reference.ToArray().Select(v => (double)v).ToArray();
        int references = reference.Length / d;
        var referenceNorms = new double[references];
        for (int r = 0; r < references; r++)
            for (int j = 0; j < d; j++) referenceNorms[r] += reference[r * d + j] * reference[r * d + j];
        string transposed = g.Constant(OnnxGraphBuilder.Transpose<double>(reference, references, d), d, references);
        string norms = g.Constant(referenceNorms, references);
        return OnnxRowChunks.Map(g, white, d, Math.Max(1, DistancesPerChunk / references), (body, chunk) =>
        {
            var query = body.Cast(chunk, DataType.Double);
            var cross = body.Mul(body.MatMul(query, transposed), body.Scalar(-2.0));
            var squared = body.Add(body.Add(body.Unsqueeze(body.ReduceSumSquare(query, 1), 1), cross), norms);
            var nearest = body.SmallestValues(body.Max(squared, body.Scalar(0.0)), neighbours.NeighbourCount);
            return body.Cast(body.ReduceMean(body.Sqrt(nearest), 1), DataType.Float);
        });
    }

    /// <summary>The mean of the members' scores, each standardised (in double, as the library).</summary>
    private static string EnsembleMean(OnnxGraphBuilder g, string[] scores, Standardization[] standardizations)
    {
        var sum = Standardize(g, g.Cast(scores[0], DataType.Double), standardizations[0]);
        for (int m = 1; m < scores.Length; m++) sum = g.Add(sum, Standardize(g, g.Cast(scores[m], DataType.Double), standardizations[m]));
        return g.Cast(g.Div(sum, g.Scalar((double)scores.Length)), DataType.Float);
    }

    private static string Standardize(OnnxGraphBuilder g, string value, Standardization standardization) =>
        g.Div(g.Sub(value, g.Scalar(standardization.Mean)), g.Scalar(standardization.Deviation));
}
