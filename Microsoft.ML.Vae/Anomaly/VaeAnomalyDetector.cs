using Microsoft.ML.Vae.Model;
namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// A fitted anomaly detector: a VAE trained on normal rows (and a background model for
/// <see cref="AnomalyScoreKind.LikelihoodRatio"/>), the score settings, the feature scaling and a calibrated
/// threshold. <see cref="Score"/> and <see cref="Predict(FeatureMatrix, IProgress{int}, CancellationToken)"/> are
/// safe to call from several threads at once. Build one with <see cref="VaeAnomalyTrainer"/>.
/// </summary>
public sealed class VaeAnomalyDetector : IDisposable
{
    private readonly FeatureScaler? _scaler;
    private double _threshold;

    internal VaeAnomalyDetector(VaeModel model, VaeModel? backgroundModel, FeatureScaler? scaler, AnomalyScoreKind scoreKind,
        int evaluationSampleCount, int scoringSeed, double threshold, LikelihoodAndLatentDistance? latentDistance = null,
        LatentNeighbours? latentNeighbours = null)
    {
        if (scoreKind == AnomalyScoreKind.LikelihoodRatio && backgroundModel is null)
            throw new InvalidDataException("The likelihood-ratio score needs a background model.");
        if (scoreKind == AnomalyScoreKind.LikelihoodAndLatentDistance && latentDistance is null)
            throw new InvalidDataException("The likelihood-and-latent-distance score needs its latent Gaussian.");
        if (scoreKind == AnomalyScoreKind.LatentNeighbourDistance && latentNeighbours is null)
            throw new InvalidDataException("The latent-neighbour score needs its reference rows.");
        LatentDistance = latentDistance;
        LatentNeighbours = latentNeighbours;
        Model = model;
        BackgroundModel = backgroundModel;
        _scaler = scaler;
        ScoreKind = scoreKind;
        EvaluationSampleCount = evaluationSampleCount;
        ScoringSeed = scoringSeed;
        _threshold = threshold;
    }

    /// <summary>The VAE of the normal data.</summary>
    public VaeModel Model { get; }

    /// <summary>The model of perturbed rows behind <see cref="AnomalyScoreKind.LikelihoodRatio"/>; null for other scores.</summary>
    public VaeModel? BackgroundModel { get; }

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

    internal LikelihoodAndLatentDistance? LatentDistance { get; }

    internal LatentNeighbours? LatentNeighbours { get; }

    /// <summary>
    /// Anomaly scores, one per row (higher = more anomalous). Rows are given in the original feature units; the
    /// detector applies its scaling. <paramref name="rowsDone"/> counts finished rows.
    /// </summary>
    public float[] Score(FeatureMatrix x, IProgress<int>? rowsDone = null, CancellationToken cancellationToken = default)
    {
        var scaled = ScaleFeatures(x);
        if (ScoreKind == AnomalyScoreKind.LatentNeighbourDistance)
        {
            // Encoder only: no sampling, so the rows are finished in one step.
            var distances = LatentNeighbours!.Score(Model, scaled, cancellationToken);
            rowsDone?.Report(x.Rows);
            return distances;
        }
        var passes = BackgroundModel is null ? 1 : 2;
        var logLikelihood = Model.LogLikelihood(scaled, EvaluationSampleCount, ScoringSeed,
            rowsDone is null ? null : new ForwardingProgress<int>(done => rowsDone.Report(done / passes)), cancellationToken);
        var scores = new float[x.Rows];
        switch (ScoreKind)
        {
            case AnomalyScoreKind.NegativeLogLikelihood:
                for (int i = 0; i < scores.Length; i++) scores[i] = -logLikelihood[i];
                break;
            case AnomalyScoreKind.LikelihoodAndLatentDistance:
                scores = LatentDistance!.Score(Model, scaled, logLikelihood);
                break;
            case AnomalyScoreKind.LikelihoodRatio:
                var background = BackgroundModel!.LogLikelihood(scaled, EvaluationSampleCount, ScoringSeed,
                    rowsDone is null ? null : new ForwardingProgress<int>(done => rowsDone.Report((x.Rows + done) / passes)), cancellationToken);
                for (int i = 0; i < scores.Length; i++) scores[i] = background[i] - logLikelihood[i];
                break;
            default:
                throw new InvalidOperationException($"Unknown score kind {ScoreKind}.");
        }
        return scores;
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

    public static VaeAnomalyDetector Load(Stream stream) => VaeAnomalyDetectorSerializer.Read(stream);

    public void Dispose()
    {
        Model.Dispose();
        BackgroundModel?.Dispose();
    }
}
