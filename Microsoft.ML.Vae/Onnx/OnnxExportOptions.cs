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

    /// <summary>
    /// Model exports: the outputs the graph computes. Default all four. ONNX Runtime runs every node of a graph on each
    /// call, whichever outputs are fetched, so export only what you need: the log-likelihood costs K decoder passes per
    /// row, the embedding one encoder pass.
    /// </summary>
    public OnnxOutputs Outputs { get; set; } = OnnxOutputs.All;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option of a model (or detector) export.</summary>
    internal void Validate(bool detector)
    {
        if (LogLikelihoodSampleCount < 1)
            throw new ArgumentException($"{nameof(LogLikelihoodSampleCount)} (K) must be at least 1 (got {LogLikelihoodSampleCount}).", nameof(LogLikelihoodSampleCount));
        if (!detector && (Outputs == OnnxOutputs.None || (Outputs & ~OnnxOutputs.All) != 0))
            throw new ArgumentException($"{nameof(Outputs)} ({(int)Outputs}) must name at least one of Embedding, EmbeddingLogVariance, LogLikelihood and Reconstruction, and nothing else.", nameof(Outputs));
        var names = new List<(string Option, string? Name)> { (nameof(InputName), InputName) };
        if (detector) names.AddRange([(nameof(ScoreName), ScoreName), (nameof(PredictedLabelName), PredictedLabelName), (nameof(ThresholdName), ThresholdName)]);
        else
        {
            if (Outputs.HasFlag(OnnxOutputs.Embedding)) names.Add((nameof(EmbeddingName), EmbeddingName));
            if (Outputs.HasFlag(OnnxOutputs.EmbeddingLogVariance)) names.Add((nameof(EmbeddingLogVarianceName), EmbeddingLogVarianceName));
            if (Outputs.HasFlag(OnnxOutputs.LogLikelihood)) names.Add((nameof(LogLikelihoodName), LogLikelihoodName));
            if (Outputs.HasFlag(OnnxOutputs.Reconstruction)) names.Add((nameof(ReconstructionName), ReconstructionName));
        }
        foreach (var (option, name) in names)
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException($"{option} must name a tensor (got '{name}').", option);
        foreach (var group in names.GroupBy(n => n.Name))
            if (group.Count() > 1)
                throw new ArgumentException($"{string.Join(" and ", group.Select(n => n.Option))} are all '{group.Key}': every input and output of the graph needs its own name.", group.Last().Option);
    }
}

/// <summary>The outputs of a model's ONNX graph (<see cref="OnnxExportOptions.Outputs"/>).</summary>
[Flags]
public enum OnnxOutputs
{
    None = 0,
    /// <summary>The posterior mean.</summary>
    Embedding = 1,
    /// <summary>The posterior log-variance.</summary>
    EmbeddingLogVariance = 2,
    /// <summary>The IWAE estimate of log p(x).</summary>
    LogLikelihood = 4,
    /// <summary>The decoder output at the posterior mean.</summary>
    Reconstruction = 8,
    All = Embedding | EmbeddingLogVariance | LogLikelihood | Reconstruction,
}
