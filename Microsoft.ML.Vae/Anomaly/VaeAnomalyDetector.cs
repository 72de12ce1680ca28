using Microsoft.ML.Vae.Model;
using Microsoft.ML.Vae.Onnx;
namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// A fitted anomaly detector: one VAE trained on normal rows (or an ensemble of them, see
/// <see cref="VaeAnomalyDetectorOptions.EnsembleSize"/>), with what the score needs besides (a background model for
/// <see cref="AnomalyScoreKind.LikelihoodRatio"/>, the training rows' codes for
/// <see cref="AnomalyScoreKind.LatentNeighbourDistance"/>), the feature scaling and a calibrated threshold.
/// <see cref="Score"/> and <see cref="Predict(FeatureMatrix, IProgress{int}, CancellationToken)"/> are safe to call
/// from several threads at once. Build one with <see cref="VaeAnomalyTrainer"/>.
/// </summary>
public sealed class VaeAnomalyDetector : IDisposable
{
    private readonly FeatureScaler? _scaler;
    private double _threshold;

    // With several members, standardizations holds one per member (fitted on the calibration rows): each member's
    // score is standardised with it and the detector's score is their mean.
    internal VaeAnomalyDetector(IReadOnlyList<AnomalyScorer> members, Standardization[]? standardizations, FeatureScaler? scaler,
        AnomalyScoreKind scoreKind, int evaluationSampleCount, int scoringSeed, double threshold)
    {
        if (members.Count == 0) throw new InvalidDataException("A detector needs at least one model.");
        if (members.Count > 1 && standardizations?.Length != members.Count)
            throw new InvalidDataException($"An ensemble of {members.Count} models needs one score standardisation per model.");
        foreach (var member in members)
        {
            if (member.Kind != scoreKind)
                throw new InvalidDataException($"An ensemble member scores with {member.Kind} but the detector with {scoreKind}.");
            if (member.Model.InputSize != members[0].Model.InputSize)
                throw new InvalidDataException($"The ensemble's models take {members[0].Model.InputSize} and {member.Model.InputSize} features.");
        }
        if (scaler is not null && scaler.Columns != members[0].Model.InputSize)
            throw new InvalidDataException($"The feature scaling covers {scaler.Columns} features but the model takes {members[0].Model.InputSize}.");
        Members = members;
        Standardizations = members.Count > 1 ? standardizations : null;
        _scaler = scaler;
        ScoreKind = scoreKind;
        EvaluationSampleCount = evaluationSampleCount;
        ScoringSeed = scoringSeed;
        _threshold = threshold;
    }

    /// <summary>The VAE of the normal data (the first one of an ensemble).</summary>
    public VaeModel Model => Members[0].Model;

    /// <summary>Every VAE of the detector: one, or <see cref="VaeAnomalyDetectorOptions.EnsembleSize"/> of them.</summary>
    public IReadOnlyList<VaeModel> Models => Members.Select(m => m.Model).ToArray();

    /// <summary>The model of perturbed rows behind <see cref="AnomalyScoreKind.LikelihoodRatio"/> (the first member's); null for other scores.</summary>
    public VaeModel? BackgroundModel => Members[0].BackgroundModel;

    public AnomalyScoreKind ScoreKind { get; }

    /// <summary>Importance samples (K) per row when estimating log p(x).</summary>
    public int EvaluationSampleCount { get; }

    public int ScoringSeed { get; }

    /// <summary>The feature scaling fitted on the training rows, applied to every row scored.</summary>
    public FeatureScaling FeatureScaling => _scaler?.Kind ?? FeatureScaling.None;

    /// <summary>Features per row, as given to the trainer.</summary>
    public int InputSize => Model.InputSize;

    /// <summary>Rows scoring above this are predicted anomalous. Set it directly or with <see cref="Calibrate"/>.</summary>
    public double Threshold
    {
        get => _threshold;
        set
        {
            if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "The threshold must be a finite number.");
            _threshold = value;
        }
    }

    internal FeatureScaler? Scaler => _scaler;

    internal IReadOnlyList<AnomalyScorer> Members { get; }

    internal Standardization[]? Standardizations { get; }

    internal LikelihoodAndLatentDistance? LatentDistance => Members[0].LatentDistance;

    /// <summary>
    /// Anomaly scores, one per row (higher = more anomalous). Rows are given in the original feature units; the
    /// detector applies its scaling. An ensemble's score is the mean of its models' scores, each standardised on the
    /// calibration rows (so it counts their standard deviations). <paramref name="rowsDone"/> counts finished rows.
    /// </summary>
    public float[] Score(FeatureMatrix x, IProgress<int>? rowsDone = null, CancellationToken cancellationToken = default)
    {
        var scaled = ScaleFeatures(x);
        var memberScores = new List<float[]>();
        for (int m = 0; m < Members.Count; m++)
        {
            int before = m * x.Rows;
            memberScores.Add(Members[m].Score(scaled, EvaluationSampleCount, ScoringSeed,
                rowsDone is null ? null : new ForwardingProgress<int>(done => rowsDone.Report((before + done) / Members.Count)), cancellationToken));
        }
        return Combine(memberScores, Standardizations);
    }

    /// <summary>One model's scores as they are, or the mean of several models' standardised scores.</summary>
    internal static float[] Combine(IReadOnlyList<float[]> memberScores, Standardization[]? standardizations)
    {
        if (standardizations is null) return memberScores[0];
        var combined = new float[memberScores[0].Length];
        for (int i = 0; i < combined.Length; i++)
        {
            double sum = 0;
            for (int m = 0; m < memberScores.Count; m++) sum += standardizations[m].Apply(memberScores[m][i]);
            combined[i] = (float)(sum / memberScores.Count);
        }
        return combined;
    }

    /// <summary>
    /// The same detector estimating log p(x) with its models' decoders in <paramref name="precision"/>
    /// (<see cref="VaeModel.UseScoringPrecision"/>): <see cref="ScoringPrecision.Int16"/> scores faster on the managed
    /// engine and moves each log-likelihood by about a thousandth of a nat, against a threshold calibrated in float32.
    /// The models' weights, the scaling and the threshold are shared or copied; nothing of this detector changes, and
    /// the precision is not saved. Dispose the returned detector to free its engines.
    /// </summary>
    public VaeAnomalyDetector UseScoringPrecision(ScoringPrecision precision)
    {
        var members = new List<AnomalyScorer>();
        try
        {
            foreach (var m in Members)
            {
                var model = m.Model.UseScoringPrecision(precision);
                try { members.Add(new AnomalyScorer(m.Kind, model, m.BackgroundModel?.UseScoringPrecision(precision), m.LatentDistance, m.LatentNeighbours)); }
                catch { model.Dispose(); throw; }
            }
            return new VaeAnomalyDetector(members, Standardizations, _scaler, ScoreKind, EvaluationSampleCount, ScoringSeed, _threshold);
        }
        catch
        {
            foreach (var member in members) member.Dispose();
            throw;
        }
    }

    /// <summary>Score and verdict per row: <see cref="AnomalyPrediction.PredictedLabel"/> is Score &gt; <see cref="Threshold"/>.</summary>
    public AnomalyPrediction[] Predict(FeatureMatrix x, IProgress<int>? rowsDone = null, CancellationToken cancellationToken = default)
    {
        var scores = Score(x, rowsDone, cancellationToken);
        double threshold = _threshold;
        return scores.Select(s => new AnomalyPrediction(s, s > threshold)).ToArray();
    }

    /// <summary>Score and verdict for one row of <see cref="InputSize"/> features.</summary>
    public AnomalyPrediction Predict(float[] row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (row.Length != InputSize)
            throw new ArgumentException($"The row has {row.Length} features but the detector was trained on {InputSize}.", nameof(row));
        return Predict(new FeatureMatrix((float[])row.Clone(), 1, row.Length))[0];
    }

    /// <summary>
    /// Sets <see cref="Threshold"/> so that at most <paramref name="flaggedFraction"/> of <paramref name="rows"/> score
    /// above it: a false-positive rate when the rows are normal, a contamination fraction when some are anomalies.
    /// </summary>
    public void Calibrate(FeatureMatrix rows, double flaggedFraction, IProgress<int>? rowsDone = null, CancellationToken cancellationToken = default) =>
        Threshold = ThresholdCalibration.UpperQuantile(Score(rows, rowsDone, cancellationToken), flaggedFraction);

    /// <summary>The rows as the model sees them (after the detector's feature scaling), e.g. to embed or reconstruct them.</summary>
    public FeatureMatrix ScaleFeatures(FeatureMatrix x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Columns != InputSize)
            throw new ArgumentException($"The rows have {x.Columns} features but the detector was trained on {InputSize}: pass the same feature columns, in the same order.", nameof(x));
        return _scaler?.Apply(x) ?? x;
    }

    /// <summary>Writes the detector (models, scaling, score settings and threshold) atomically to <paramref name="path"/>.</summary>
    public void Save(string path) => AtomicFile.Write(path, "anomaly detector", stream => VaeAnomalyDetectorSerializer.Write(this, stream));

    public void Save(Stream stream) => VaeAnomalyDetectorSerializer.Write(this, stream);

    /// <summary>Reads a detector saved by <see cref="Save(string)"/>; throws <see cref="InvalidDataException"/> for a damaged file.</summary>
    public static VaeAnomalyDetector Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"No anomaly detector file at '{Path.GetFullPath(path)}'.", path);
        using var file = File.OpenRead(path);
        try { return VaeAnomalyDetectorSerializer.Read(file); }
        catch (InvalidDataException e) { throw new InvalidDataException($"'{Path.GetFullPath(path)}': {e.Message}", e); }
    }

    /// <summary>
    /// Writes the detector as an ONNX graph (docs/onnx.md): input <c>Features</c> in the original feature units;
    /// outputs <c>Score</c> and <c>PredictedLabel</c> (Score &gt; the constant <c>Threshold</c>, which is
    /// <see cref="Threshold"/> and which <see cref="ChangeOnnxThreshold"/> rewrites). Scores use
    /// <see cref="EvaluationSampleCount"/> and <see cref="ScoringSeed"/>, with which the threshold was calibrated; the
    /// options' LogLikelihoodSampleCount and Seed apply to model exports only.
    /// Written atomically.
    /// </summary>
    public void ExportOnnx(string path, OnnxExportOptions? options = null) =>
        AtomicFile.Write(path, "ONNX model", stream => ExportOnnx(stream, options));

    /// <inheritdoc cref="ExportOnnx(string, OnnxExportOptions?)"/>
    public void ExportOnnx(Stream stream, OnnxExportOptions? options = null) =>
        OnnxModelWriter.Write(stream, options, detector: true, checkedOptions => DetectorOnnxExport.Build(this, checkedOptions));

    /// <summary>
    /// Sets the default threshold of a detector graph written by <see cref="ExportOnnx(string, OnnxExportOptions?)"/>
    /// (PredictedLabel = Score &gt; <paramref name="threshold"/>), rewriting the file atomically: no retraining, no new export.
    /// </summary>
    public static void ChangeOnnxThreshold(string path, double threshold, string thresholdName = "Threshold") =>
        OnnxThreshold.Change(path, threshold, thresholdName);

    public static VaeAnomalyDetector Load(Stream stream) => VaeAnomalyDetectorSerializer.Read(stream);

    public void Dispose()
    {
        foreach (var member in Members) member.Dispose();
    }
}
