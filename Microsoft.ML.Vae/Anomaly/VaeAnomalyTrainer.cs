using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// Fits a <see cref="VaeAnomalyDetector"/> on (mostly) normal rows: holds out <see cref="VaeAnomalyDetectorOptions.CalibrationFraction"/>
/// of them, fits the feature scaling and trains the VAE (and the background model) on the rest, then sets the
/// threshold from the held-out rows' scores. Reports through <see cref="IProgress{T}"/>; never writes to the console.
/// </summary>
public sealed class VaeAnomalyTrainer
{
    // Random streams of the trainer seed used here, apart from those VaeTrainer uses.
    private const long CalibrationSplitStream = 101, PerturbationStream = 102;
    private const int MinimumCalibrationRows = 10;

    private readonly VaeAnomalyDetectorOptions _options;

    public VaeAnomalyTrainer(VaeAnomalyDetectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone();
    }

    /// <summary>Trains and calibrates a detector on <paramref name="data"/> (rows in the original feature units).</summary>
    public VaeAnomalyDetector Fit(FeatureMatrix data, IProgress<AnomalyProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        // Unscaled rows need only be finite; after scaling the VAE trainer checks the decoder's range.
        var decoderForRawCheck = _options.FeatureScaling == FeatureScaling.None ? _options.Model.Decoder : DecoderKind.Gaussian;
        InputValidation.CheckBatch(data.Values, data.Rows, data.Columns, decoderForRawCheck, nameof(data));
        int calibrationCount = (int)Math.Round(data.Rows * _options.CalibrationFraction);
        if (calibrationCount < MinimumCalibrationRows || data.Rows - calibrationCount < 1)
            throw new ArgumentException(
                $"{data.Rows} rows with CalibrationFraction {_options.CalibrationFraction} hold out {calibrationCount} rows to calibrate the threshold; " +
                $"at least {MinimumCalibrationRows} are needed and one must remain for training: give more rows or change CalibrationFraction.", nameof(data));

        var order = Enumerable.Range(0, data.Rows).ToArray();
        new RandomSource(_options.Trainer.Seed, CalibrationSplitStream).Shuffle(order);
        var calibrationRows = order[..calibrationCount];
        var trainingRows = order[calibrationCount..];
        var scaler = _options.FeatureScaling == FeatureScaling.None ? null
            : FeatureScaler.Fit(_options.FeatureScaling, data, trainingRows, clipToUnitRange: _options.Model.Decoder == DecoderKind.Bernoulli);
        var training = Gather(data, trainingRows);
        if (scaler is not null) training = scaler.Apply(training);

        var calibration = Gather(data, calibrationRows);
        if (scaler is not null) calibration = scaler.Apply(calibration);
        int modelCount = _options.EnsembleSize;
        var backgroundRows = _options.Score == AnomalyScoreKind.LikelihoodRatio
            ? Perturb(training, _options.BackgroundPerturbationRate, new RandomSource(_options.Trainer.Seed, PerturbationStream)) : null;
        var members = new List<AnomalyScorer>();
        var calibrationScores = new List<float[]>();
        try
        {
            for (int m = 0; m < modelCount; m++)
            {
                int member = m;
                var rowsDone = progress is null ? null : new ForwardingProgress<int>(done =>
                    progress.Report(new AnomalyProgress(AnomalyStage.Calibrating, null, (member * calibrationCount + done) / modelCount, calibrationCount, member, modelCount)));
                var (scorer, scores) = FitMember(training, backgroundRows, calibration, m, progress, rowsDone, cancellationToken);
                members.Add(scorer);
                calibrationScores.Add(scores);
            }
            var standardizations = modelCount > 1 ? calibrationScores.Select(s => Standardization.Fit(s.Select(v => (double)v))).ToArray() : null;
            var detector = new VaeAnomalyDetector(members, standardizations, scaler, _options.Score, _options.EvaluationSampleCount, _options.ScoringSeed, 0);
            detector.Threshold = ThresholdCalibration.UpperQuantile(VaeAnomalyDetector.Combine(calibrationScores, standardizations), _options.FlaggedFraction);
            return detector;
        }
        catch
        {
            foreach (var member in members) member.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Trains ensemble model <paramref name="member"/> (seed Seed + 2·member; its background model, if any, the next
    /// seed, on <paramref name="backgroundRows"/>) with what its score needs, and scores the (scaled) calibration rows with it.
    /// </summary>
    private (AnomalyScorer Scorer, float[] CalibrationScores) FitMember(FeatureMatrix training, FeatureMatrix? backgroundRows, FeatureMatrix calibration, int member,
        IProgress<AnomalyProgress>? progress, IProgress<int>? rowsDone, CancellationToken cancellationToken)
    {
        var trainer = _options.Trainer.Clone();
        trainer.Seed = unchecked(trainer.Seed + 2 * member);
        trainer.Epochs = _options.EpochsFor(training.Rows);
        VaeModel? model = null, background = null;
        try
        {
            model = new VaeTrainer(_options.Model, trainer).Fit(training, StageProgress(progress, AnomalyStage.TrainingModel, member), cancellationToken);
            if (backgroundRows is not null)
            {
                var backgroundTrainer = trainer.Clone();
                backgroundTrainer.Seed = unchecked(trainer.Seed + 1);
                background = new VaeTrainer(_options.Model, backgroundTrainer)
                    .Fit(backgroundRows, StageProgress(progress, AnomalyStage.TrainingBackground, member), cancellationToken);
            }
            if (_options.Score == AnomalyScoreKind.LikelihoodAndLatentDistance)
            {
                // The standardisation is fitted on the calibration rows, so their log-likelihoods are estimated once here.
                var logLikelihood = AnomalyScorer.LogLikelihood(model, calibration, _options.EvaluationSampleCount, _options.ScoringSeed, rowsDone, cancellationToken);
                var latentDistance = LikelihoodAndLatentDistance.Fit(model, training, calibration, logLikelihood);
                return (new AnomalyScorer(_options.Score, model, latentDistance: latentDistance), latentDistance.Score(model, calibration, logLikelihood));
            }
            var latentNeighbours = _options.Score == AnomalyScoreKind.LatentNeighbourDistance
                ? LatentNeighbours.Fit(model, training, _options.NeighbourCount) : null;
            var scorer = new AnomalyScorer(_options.Score, model, background, latentNeighbours: latentNeighbours);
            return (scorer, scorer.Score(calibration, _options.EvaluationSampleCount, _options.ScoringSeed, rowsDone, cancellationToken));
        }
        catch
        {
            model?.Dispose();
            background?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Background rows (Ren et al. 2019): each feature replaced, with probability BackgroundPerturbationRate, by a
    /// uniform value from that feature's training range, which destroys the structure specific to the normal data.
    /// </summary>
    internal static FeatureMatrix Perturb(FeatureMatrix training, double perturbationRate, RandomSource random)
    {
        int columns = training.Columns;
        var low = new float[columns];
        var high = new float[columns];
        Array.Fill(low, float.PositiveInfinity);
        Array.Fill(high, float.NegativeInfinity);
        for (long i = 0; i < training.Values.Length; i++)
        {
            int c = (int)(i % columns);
            low[c] = Math.Min(low[c], training.Values[i]);
            high[c] = Math.Max(high[c], training.Values[i]);
        }
        var values = (float[])training.Values.Clone();
        float rate = (float)perturbationRate;
        for (long i = 0; i < values.Length; i++)
        {
            if (random.NextFloat() >= rate) continue;
            int c = (int)(i % columns);
            values[i] = low[c] + random.NextFloat() * (high[c] - low[c]);
        }
        return new FeatureMatrix(values, training.Rows, columns);
    }

    private static FeatureMatrix Gather(FeatureMatrix data, int[] rows)
    {
        var values = new float[(long)rows.Length * data.Columns];
        for (int i = 0; i < rows.Length; i++) data.Row(rows[i]).CopyTo(values.AsSpan(i * data.Columns, data.Columns));
        return new FeatureMatrix(values, rows.Length, data.Columns);
    }

    private IProgress<TrainingProgress>? StageProgress(IProgress<AnomalyProgress>? progress, AnomalyStage stage, int member) =>
        progress is null ? null : new ForwardingProgress<TrainingProgress>(p => progress.Report(new AnomalyProgress(stage, p, 0, 0, member, _options.EnsembleSize)));
}
