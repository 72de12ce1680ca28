using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.MLNet.Infrastructure;

namespace Microsoft.ML.Vae.MLNet;

/// <summary>
/// Anomaly detection with an IWAE, on the core's <see cref="VaeAnomalyTrainer"/>: feature scaling, every
/// <see cref="AnomalyScoreKind"/>, ensembles and a threshold calibrated on held-out training rows. Adds "Score"
/// (float, higher = more anomalous, as with ML.NET's anomaly trainers) and "PredictedLabel" (bool, Score above the
/// threshold), each a vector of one value (ML.NET 5.0.1's OnnxTransformer gives no scalar columns), so evaluate with
/// <see cref="IwaeAnomalyDetectionTransformer.Evaluate"/>. Made by <c>context.AnomalyDetection.Trainers.Iwae</c>.
/// </summary>
public sealed class IwaeAnomalyDetectionTrainer : IEstimator<IwaeAnomalyDetectionTransformer>
{
    /// <summary>Options of <see cref="IwaeAnomalyDetectionTrainer"/>; see <see cref="VaeComponentOptions"/> for the shared ones.</summary>
    public sealed class Options : VaeComponentOptions
    {
        /// <summary>The column of features, a known-size vector of float. Default "Features".</summary>
        public string FeatureColumnName { get; set; } = DefaultFeatureColumnName;

        /// <summary>
        /// The detector: model, training, score kind, feature scaling, ensemble and threshold calibration. Default
        /// <see cref="TabularDetector"/>. Its Trainer.Seed is not used: see <see cref="VaeComponentOptions.Seed"/>.
        /// </summary>
        public VaeAnomalyDetectorOptions Detector { get; set; } = TabularDetector();

        /// <summary>
        /// The defaults for tabular data, <see cref="VaeAnomalyDetectorOptions.ForTabularData"/>: features standardised on
        /// the training rows (so the output of any normaliser, and rows beyond the training range, score), a Gaussian
        /// decoder with learned variance, epochs for about 2,000 optimiser steps, Score = -log p(x) with K = 100 (measured
        /// against RandomizedPca in docs/tabular-anomaly.md), and a threshold that flags 5% of held-out training rows.
        /// </summary>
        public static VaeAnomalyDetectorOptions TabularDetector()
        {
            var options = VaeAnomalyDetectorOptions.ForTabularData();
            options.TargetFalsePositiveRate = 0.05;
            return options;
        }

        /// <summary>The options of the simple catalog overload; <paramref name="epochs"/> 0 keeps the step-based epochs.</summary>
        internal static Options Simple(string featureColumnName, int latentSize, int epochs, int sampleCount, double falsePositiveRate)
        {
            if (epochs < 0) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "epochs must be at least 1, or 0 to choose them from the row count.");
            var options = new Options { FeatureColumnName = featureColumnName };
            options.Detector.Model.LatentSize = latentSize;
            options.Detector.Trainer.SampleCount = sampleCount;
            options.Detector.TargetFalsePositiveRate = falsePositiveRate;
            if (epochs > 0)
            {
                options.Detector.Trainer.Epochs = epochs;
                options.Detector.TrainingSteps = null;
            }
            return options;
        }

        internal override void Validate()
        {
            base.Validate();
            ArgumentException.ThrowIfNullOrWhiteSpace(FeatureColumnName, nameof(FeatureColumnName));
            ArgumentNullException.ThrowIfNull(Detector, nameof(Detector));
            Detector.Validate();
        }
    }

    /// <summary>Default feature column, as in ML.NET's trainers.</summary>
    public const string DefaultFeatureColumnName = "Features";

    /// <summary>The added score column (ML.NET's name for it).</summary>
    public const string ScoreColumnName = "Score";

    /// <summary>The added predicted-label column (ML.NET's name for it).</summary>
    public const string PredictedLabelColumnName = "PredictedLabel";

    private readonly ComponentContext _context;
    private readonly IHost _host;
    private readonly Options _options;

    internal IwaeAnomalyDetectionTrainer(ComponentContext context, Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _context = context;
        _host = context.Environment.Register(nameof(IwaeAnomalyDetectionTrainer));
        _options = options;
    }

    /// <summary>Reads the feature column and trains and calibrates the core detector on it.</summary>
    public IwaeAnomalyDetectionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var column = FeatureColumn.Check(input.Schema, _options.FeatureColumnName);
        var data = FeatureColumn.Read(input, column, _options.BatchSize, _options.CancellationToken);
        var detectorOptions = _options.Detector.Clone();
        detectorOptions.Trainer.Seed = VaeTraining.ResolveSeed(_host, _options.Seed);
        VaeAnomalyDetector detector;
        using (var log = new TrainingLog(_host))
        {
            VaeTraining.SelectDevice(_context, log.Channel, detectorOptions.Trainer);
            log.Channel.Info(MessageSensitivity.None,
                $"Training an IWAE anomaly detector on {data.Rows} rows of {data.Columns} features: score {detectorOptions.Score}, " +
                $"scaling {detectorOptions.FeatureScaling}, {detectorOptions.EnsembleSize} model(s), latent {detectorOptions.Model.LatentSize}, " +
                $"{detectorOptions.Trainer.Epochs} epochs, seed {detectorOptions.Trainer.Seed}, engine {detectorOptions.Trainer.Engine}.");
            var progress = new ForwardingProgress<AnomalyProgress>(p =>
            {
                if (p.Training is { } training)
                    log.Report(training);
            });
            detector = new VaeAnomalyTrainer(detectorOptions).Fit(data, progress, _options.CancellationToken);
            log.Finish();
            log.Channel.Info(MessageSensitivity.None, $"Threshold {detector.Threshold:G6} on Score, calibrated on held-out training rows.");
        }
        try
        {
            return new IwaeAnomalyDetectionTransformer(_context, detector, _options.FeatureColumnName);
        }
        catch
        {
            detector.Dispose();
            throw;
        }
    }

    /// <summary>The input shape plus Score and PredictedLabel (vectors of one float and one bool, see docs/mlnet.md).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        FeatureColumn.Check(inputSchema, _options.FeatureColumnName);
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns[ScoreColumnName] = MLNetInternals.CreateShapeColumn(ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single);
        columns[PredictedLabelColumnName] = MLNetInternals.CreateShapeColumn(PredictedLabelColumnName, SchemaShape.Column.VectorKind.Vector, BooleanDataViewType.Instance);
        return new SchemaShape(columns.Values);
    }
}
