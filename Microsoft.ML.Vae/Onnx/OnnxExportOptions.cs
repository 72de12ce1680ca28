namespace Microsoft.ML.Vae.Onnx;

/// <summary>
/// Settings of <see cref="VaeModel.ExportOnnx(string, OnnxExportOptions?)"/> and
/// <see cref="Anomaly.VaeAnomalyDetector.ExportOnnx(string, OnnxExportOptions?)"/>: the K and seed of the
/// log-likelihood estimate (its noise becomes a constant of the graph) and the names of the graph's inputs and outputs
/// (ML.NET's ApplyOnnxModel maps columns to tensors by name).
/// </summary>
public sealed class OnnxExportOptions
{
    /// <summary>K of the importance-weighted log p(x) estimate in the graph. Default 1000.</summary>
    public int LogLikelihoodSampleCount { get; set; } = 1000;

    /// <summary>Seed of the K noise draws, as in <c>VaeModel.LogLikelihood(..., seed, sharedNoise: true)</c>. Default 0.</summary>
    public int Seed { get; set; }

    /// <summary>
    /// False (default): the graph takes a batch <c>[N, F]</c> and returns per-row values with a leading N axis. True: it
    /// takes one row <c>[F]</c> and returns <c>[D]</c> and <c>[F]</c> vectors and one-value <c>[1]</c> tensors for the
    /// per-row numbers (<c>Score</c>, <c>PredictedLabel</c>, <c>LogLikelihood</c>): the shapes ML.NET's OnnxTransformer,
    /// which feeds one row per call, maps to known-size vector columns. (It maps a rank-0 output to a scalar column whose
    /// getter fails on every row in ML.NET 5.0.1, so the one-value form is the one that works.)
    /// </summary>
    public bool SingleRow { get; set; }

    /// <summary>Name of the input tensor. Default "Features".</summary>
    public string InputName { get; set; } = "Features";

    /// <summary>Posterior mean output. Default "Embedding".</summary>
    public string EmbeddingName { get; set; } = "Embedding";

    /// <summary>Posterior log-variance output. Default "EmbeddingLogVariance".</summary>
    public string EmbeddingLogVarianceName { get; set; } = "EmbeddingLogVariance";

    /// <summary>IWAE estimate of log p(x) output. Default "LogLikelihood".</summary>
    public string LogLikelihoodName { get; set; } = "LogLikelihood";

    /// <summary>Decoder output at the posterior mean. Default "Reconstruction".</summary>
    public string ReconstructionName { get; set; } = "Reconstruction";

    /// <summary>Detector exports: the anomaly score output. Default "Score".</summary>
    public string ScoreName { get; set; } = "Score";

    /// <summary>Detector exports: the verdict output (bool, Score &gt; threshold). Default "PredictedLabel".</summary>
    public string PredictedLabelName { get; set; } = "PredictedLabel";

    /// <summary>
    /// Detector exports: the name of the threshold constant (a double), which
    /// <see cref="Anomaly.VaeAnomalyDetector.ChangeOnnxThreshold(string, double, string)"/> rewrites. Default "Threshold".
    /// </summary>
    public string ThresholdName { get; set; } = "Threshold";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    internal void Validate()
    {
        if (LogLikelihoodSampleCount < 1)
            throw new ArgumentException($"{nameof(LogLikelihoodSampleCount)} (K) must be at least 1 (got {LogLikelihoodSampleCount}).", nameof(LogLikelihoodSampleCount));
        var names = new (string Option, string? Name)[]
        {
            (nameof(InputName), InputName), (nameof(EmbeddingName), EmbeddingName), (nameof(EmbeddingLogVarianceName), EmbeddingLogVarianceName),
            (nameof(LogLikelihoodName), LogLikelihoodName), (nameof(ReconstructionName), ReconstructionName), (nameof(ScoreName), ScoreName),
            (nameof(PredictedLabelName), PredictedLabelName), (nameof(ThresholdName), ThresholdName),
        };
        foreach (var (option, name) in names)
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException($"{option} must name a tensor (got '{name}').", option);
        foreach (var group in names.GroupBy(n => n.Name))
            if (group.Count() > 1)
                throw new ArgumentException($"{string.Join(" and ", group.Select(n => n.Option))} are all '{group.Key}': every input and output of the graph needs its own name.", group.Last().Option);
    }
}
