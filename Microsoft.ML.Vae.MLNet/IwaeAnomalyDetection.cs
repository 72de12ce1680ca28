using System.Text;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Vae.MLNet.Infrastructure;

namespace Microsoft.ML.Vae.MLNet;

/// <summary>
/// Anomaly detection with an IWAE: trains on (mostly normal) rows and scores a row by -log p(x), so higher scores are
/// more anomalous, as with ML.NET's anomaly trainers. Adds "Score" (float) and "PredictedLabel" (bool, Score above a
/// threshold calibrated on held-out training rows); <c>mlContext.AnomalyDetection.Evaluate</c> reads both. Made by
/// <c>mlContext.AnomalyDetection.Trainers.Iwae</c>.
/// </summary>
public sealed class IwaeAnomalyDetectionTrainer : IEstimator<IwaeAnomalyDetectionTransformer>
{
    /// <summary>Options of <see cref="IwaeAnomalyDetectionTrainer"/>; see <see cref="VaeComponentOptions"/> for the shared ones.</summary>
    public sealed class Options : VaeComponentOptions
    {
        /// <summary>The column of features, a known-size vector of float. Default "Features".</summary>
        public string FeatureColumnName { get; set; } = DefaultFeatureColumnName;

        /// <summary>
        /// Fraction of training rows flagged as anomalous by the calibrated threshold: the threshold is the
        /// (1 - rate) quantile of the scores of the held-out rows. Default 0.05.
        /// </summary>
        public double FalsePositiveRate { get; set; } = 0.05;

        /// <summary>Fraction of the training rows held out (at random, from the seed) to calibrate the threshold. Default 0.1.</summary>
        public double CalibrationFraction { get; set; } = 0.1;

        /// <summary>A fixed threshold on Score instead of a calibrated one; then every row trains. Default null (calibrate).</summary>
        public float? Threshold { get; set; }

        internal override void Validate()
        {
            base.Validate();
            ArgumentException.ThrowIfNullOrWhiteSpace(FeatureColumnName, nameof(FeatureColumnName));
            if (!(FalsePositiveRate >= 0 && FalsePositiveRate < 1))
                throw new ArgumentOutOfRangeException(nameof(FalsePositiveRate), FalsePositiveRate, "FalsePositiveRate must lie in [0, 1).");
            if (!(CalibrationFraction > 0 && CalibrationFraction < 1))
                throw new ArgumentOutOfRangeException(nameof(CalibrationFraction), CalibrationFraction, "CalibrationFraction must lie in (0, 1).");
            if (Threshold is { } threshold && !float.IsFinite(threshold))
                throw new ArgumentOutOfRangeException(nameof(Threshold), threshold, "Threshold must be a finite number, or null to calibrate it.");
        }
    }

    /// <summary>Default feature column, as in ML.NET's trainers.</summary>
    public const string DefaultFeatureColumnName = "Features";

    /// <summary>The added score column (ML.NET's name for it).</summary>
    public const string ScoreColumnName = "Score";

    /// <summary>The added predicted-label column (ML.NET's name for it).</summary>
    public const string PredictedLabelColumnName = "PredictedLabel";

    private readonly IHostEnvironment _environment;
    private readonly IHost _host;
    private readonly Options _options;

    internal IwaeAnomalyDetectionTrainer(IHostEnvironment environment, Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _environment = environment;
        _host = environment.Register(nameof(IwaeAnomalyDetectionTrainer));
        _options = options;
    }

    /// <summary>Trains on the rows not held out, then sets the threshold from the held-out rows' scores.</summary>
    public IwaeAnomalyDetectionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var column = FeatureColumn.Check(input.Schema, _options.FeatureColumnName);
        var data = FeatureColumn.Read(input, column, _options.BatchSize, _options.CancellationToken);
        int seed = VaeTraining.ResolveSeed(_host, _options);
        int k = _options.LogLikelihoodSampleCount;
        if (_options.Threshold is { } fixedThreshold)
            return new IwaeAnomalyDetectionTransformer(VaeTraining.Train(_environment, _host, data, _options, seed),
                _options.FeatureColumnName, fixedThreshold, seed, k, _options.BatchSize);

        var (training, calibration) = Split(data, _options.CalibrationFraction, seed);
        var model = VaeTraining.Train(_environment, _host, training, _options, seed);
        var scores = new float[calibration.Rows];
        VaeTransformerBase.LogLikelihood(model, calibration.Values, calibration.Rows, scores, k, seed);
        float threshold = Quantile(scores.Select(logLikelihood => -logLikelihood).ToArray(), 1 - _options.FalsePositiveRate);
        using (var channel = _host.Start("Calibration"))
            channel.Info(MessageSensitivity.None, $"Threshold {threshold:G6} on Score flags {_options.FalsePositiveRate:P1} of {calibration.Rows} held-out rows.");
        return new IwaeAnomalyDetectionTransformer(model, _options.FeatureColumnName, threshold, seed, k, _options.BatchSize);
    }

    /// <summary>The input shape plus Score (float) and PredictedLabel (bool).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        FeatureColumn.Check(inputSchema, _options.FeatureColumnName);
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns[ScoreColumnName] = MLNetInternals.CreateShapeColumn(ScoreColumnName, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single);
        columns[PredictedLabelColumnName] = MLNetInternals.CreateShapeColumn(PredictedLabelColumnName, SchemaShape.Column.VectorKind.Scalar, BooleanDataViewType.Instance);
        return new SchemaShape(columns.Values);
    }

    /// <summary>Random training / calibration split of the rows, from the seed.</summary>
    private static (FeatureMatrix Training, FeatureMatrix Calibration) Split(FeatureMatrix data, double calibrationFraction, int seed)
    {
        int calibrationRows = Math.Max(1, (int)Math.Round(data.Rows * calibrationFraction));
        if (calibrationRows >= data.Rows)
            throw new ArgumentException($"{data.Rows} training rows are too few to hold out {calibrationFraction:P0} for the threshold and train on the rest: " +
                "give more rows, or set Options.Threshold.", nameof(data));
        var order = Enumerable.Range(0, data.Rows).ToArray();
        new Random(seed).Shuffle(order);
        return (Gather(data, order[calibrationRows..]), Gather(data, order[..calibrationRows]));
    }

    private static FeatureMatrix Gather(FeatureMatrix data, int[] rows)
    {
        var values = new float[rows.Length * data.Columns];
        for (int i = 0; i < rows.Length; i++)
            data.Row(rows[i]).CopyTo(values.AsSpan(i * data.Columns, data.Columns));
        return new FeatureMatrix(values, rows.Length, data.Columns);
    }

    /// <summary>The smallest score with at most a (1 - <paramref name="level"/>) fraction of the scores above it.</summary>
    private static float Quantile(float[] scores, double level)
    {
        Array.Sort(scores);
        int index = (int)Math.Ceiling(level * scores.Length) - 1;
        return scores[Math.Clamp(index, 0, scores.Length - 1)];
    }
}

/// <summary>
/// Applies a trained IWAE anomaly detector: adds Score (-log p(x), estimated with
/// <see cref="VaeTransformerBase.LogLikelihoodSampleCount"/> samples; higher = more anomalous) and PredictedLabel
/// (Score &gt; <see cref="Threshold"/>). Save it with <see cref="VaeTransformerBase.Save(string)"/> and read it back with
/// <see cref="Load(string)"/>.
/// </summary>
public sealed class IwaeAnomalyDetectionTransformer : VaeTransformerBase
{
    private const int ScoreSlot = 0;

    internal IwaeAnomalyDetectionTransformer(VaeModel model, string featureColumnName, float threshold, int seed, int logLikelihoodSampleCount, int batchSize)
        : base(model, featureColumnName, seed, logLikelihoodSampleCount, batchSize)
    {
        Threshold = threshold;
        AddedColumns =
        [
            new SingleColumn(IwaeAnomalyDetectionTrainer.ScoreColumnName, ScoreSlot),
            new ThresholdColumn(IwaeAnomalyDetectionTrainer.PredictedLabelColumnName, ScoreSlot, threshold),
        ];
    }

    /// <summary>Rows whose Score exceeds this are predicted anomalous.</summary>
    public float Threshold { get; }

    internal override AddedColumn[] AddedColumns { get; }

    internal override int[] SlotWidths { get; } = [1];

    private protected override string ComponentName => nameof(IwaeAnomalyDetectionTransformer);

    /// <summary>Reads a transformer written by <see cref="VaeTransformerBase.Save(string)"/>.</summary>
    public static IwaeAnomalyDetectionTransformer Load(string path)
    {
        using var stream = File.OpenRead(path);
        return Load(stream);
    }

    /// <inheritdoc cref="Load(string)"/>
    public static IwaeAnomalyDetectionTransformer Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        var header = ReadHeader(reader, nameof(IwaeAnomalyDetectionTransformer));
        float threshold = reader.ReadSingle();
        return new IwaeAnomalyDetectionTransformer(VaeModel.Load(stream), header.InputColumnName, threshold,
            header.Seed, header.LogLikelihoodSampleCount, header.BatchSize);
    }

    private protected override void WriteSettings(BinaryWriter writer) => writer.Write(Threshold);

    private protected override void ScoreSlots(ReadOnlySpan<float> features, int rows, bool[] slotsNeeded, float[][] slots)
    {
        var scores = slots[ScoreSlot].AsSpan(0, rows);
        LogLikelihood(features, rows, scores);
        for (int i = 0; i < rows; i++)
            scores[i] = -scores[i];
    }
}
