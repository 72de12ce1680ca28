using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Vae.MLNet.Infrastructure;

namespace Microsoft.ML.Vae.MLNet;

/// <summary>
/// Trains a VAE/IWAE on a vector-of-float column and adds, per row, the posterior mean (the embedding, a vector of
/// latent-size floats) and an importance-weighted estimate of log p(x) (a float). Made by
/// <c>context.Transforms.VaeEmbed</c>.
/// </summary>
public sealed class VaeEmbeddingEstimator : IEstimator<VaeEmbeddingTransformer>
{
    /// <summary>Options of <see cref="VaeEmbeddingEstimator"/>; see <see cref="VaeComponentOptions"/> for the shared ones.</summary>
    public sealed class Options : VaeComponentOptions
    {
        /// <summary>The network. Default <see cref="VaeComponentOptions.TabularModel"/> (Gaussian decoder with learned variance).</summary>
        public VaeModelOptions Model { get; set; } = TabularModel();

        /// <summary>
        /// Training. Default: <see cref="VaeTrainerOptions"/>'s defaults (K = 5 samples, 20 epochs, minibatches of 100,
        /// Adam at 1e-3). Its <see cref="VaeTrainerOptions.Seed"/> is not used: see <see cref="VaeComponentOptions.Seed"/>.
        /// </summary>
        public VaeTrainerOptions Trainer { get; set; } = new();

        /// <summary>
        /// K of the importance-weighted estimate of log p(x) in the log-likelihood column. Default 100: ML.NET scores
        /// one row per call, and each call runs the decoder K times.
        /// </summary>
        public int LogLikelihoodSampleCount { get; set; } = 100;

        /// <summary>Name of the added log-likelihood column. Default "LogLikelihood".</summary>
        public string LogLikelihoodColumnName { get; set; } = DefaultLogLikelihoodColumnName;

        internal override void Validate()
        {
            base.Validate();
            ArgumentNullException.ThrowIfNull(Model, nameof(Model));
            ArgumentNullException.ThrowIfNull(Trainer, nameof(Trainer));
            Model.Validate();
            Trainer.Validate();
            if (LogLikelihoodSampleCount < 1)
                throw new ArgumentOutOfRangeException(nameof(LogLikelihoodSampleCount), LogLikelihoodSampleCount, "LogLikelihoodSampleCount (K) must be at least 1.");
            ArgumentException.ThrowIfNullOrWhiteSpace(LogLikelihoodColumnName, nameof(LogLikelihoodColumnName));
        }
    }

    /// <summary>Default name of the log-likelihood column.</summary>
    public const string DefaultLogLikelihoodColumnName = "LogLikelihood";

    private readonly ComponentContext _context;
    private readonly IHost _host;
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly Options _options;

    internal VaeEmbeddingEstimator(ComponentContext context, string outputColumnName, string? inputColumnName, Options options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.LogLikelihoodColumnName == outputColumnName)
            throw new ArgumentException($"The embedding and log-likelihood columns are both named '{outputColumnName}': give them different names.", nameof(options));
        _context = context;
        _host = context.Environment.Register(nameof(VaeEmbeddingEstimator));
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName ?? outputColumnName;
        _options = options;
    }

    /// <summary>Reads the input column, trains the model and returns the transformer that applies it.</summary>
    public VaeEmbeddingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var column = FeatureColumn.Check(input.Schema, _inputColumnName);
        var data = FeatureColumn.Read(input, column, _options.BatchSize, _options.CancellationToken);
        int seed = VaeTraining.ResolveSeed(_host, _options.Seed);
        var trainer = _options.Trainer.Clone();
        trainer.Seed = seed;
        VaeModel model;
        using (var log = new TrainingLog(_host))
        {
            VaeTraining.SelectDevice(_context, log.Channel, trainer);
            log.Channel.Info(MessageSensitivity.None,
                $"Training a VAE on {data.Rows} rows of {data.Columns} features: latent {_options.Model.LatentSize}, K = {trainer.SampleCount}, " +
                $"{trainer.Epochs} epochs, seed {seed}, engine {trainer.Engine}.");
            model = new VaeTrainer(_options.Model, trainer).Fit(data, log, _options.CancellationToken);
            log.Finish();
        }
        try
        {
            return new VaeEmbeddingTransformer(_context, model, _inputColumnName, _outputColumnName, _options.LogLikelihoodColumnName,
                seed, _options.LogLikelihoodSampleCount);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The input shape plus the embedding (vector of float) and log-likelihood (vector of one float, see docs/mlnet.md) columns.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        FeatureColumn.Check(inputSchema, _inputColumnName);
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns[_outputColumnName] = MLNetInternals.CreateShapeColumn(_outputColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single);
        columns[_options.LogLikelihoodColumnName] = MLNetInternals.CreateShapeColumn(_options.LogLikelihoodColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single);
        return new SchemaShape(columns.Values);
    }
}
