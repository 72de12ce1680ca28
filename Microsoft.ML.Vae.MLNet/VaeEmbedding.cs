using System.Text;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Vae.MLNet.Infrastructure;

namespace Microsoft.ML.Vae.MLNet;

/// <summary>
/// Trains a VAE/IWAE on a vector-of-float column and adds, per row, the posterior mean (the embedding, a vector of
/// latent-size floats) and an importance-weighted estimate of log p(x) (a float). Made by
/// <c>mlContext.Transforms.VaeEmbed</c>.
/// </summary>
public sealed class VaeEmbeddingEstimator : IEstimator<VaeEmbeddingTransformer>
{
    /// <summary>Options of <see cref="VaeEmbeddingEstimator"/>; see <see cref="VaeComponentOptions"/> for the shared ones.</summary>
    public sealed class Options : VaeComponentOptions
    {
        /// <summary>Name of the added log-likelihood column. Default "LogLikelihood".</summary>
        public string LogLikelihoodColumnName { get; set; } = DefaultLogLikelihoodColumnName;

        internal override void Validate()
        {
            base.Validate();
            ArgumentException.ThrowIfNullOrWhiteSpace(LogLikelihoodColumnName, nameof(LogLikelihoodColumnName));
        }
    }

    /// <summary>Default name of the log-likelihood column.</summary>
    public const string DefaultLogLikelihoodColumnName = "LogLikelihood";

    private readonly IHostEnvironment _environment;
    private readonly IHost _host;
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly Options _options;

    internal VaeEmbeddingEstimator(IHostEnvironment environment, string outputColumnName, string? inputColumnName, Options options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.LogLikelihoodColumnName == outputColumnName)
            throw new ArgumentException($"The embedding and log-likelihood columns are both named '{outputColumnName}': give them different names.", nameof(options));
        _environment = environment;
        _host = environment.Register(nameof(VaeEmbeddingEstimator));
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName ?? outputColumnName;
        _options = options;
    }

    /// <summary>Reads the input column in batches, trains the model and returns the transformer that applies it.</summary>
    public VaeEmbeddingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var column = FeatureColumn.Check(input.Schema, _inputColumnName);
        var data = FeatureColumn.Read(input, column, _options.BatchSize, _options.CancellationToken);
        int seed = VaeTraining.ResolveSeed(_host, _options);
        var model = VaeTraining.Train(_environment, _host, data, _options, seed);
        return new VaeEmbeddingTransformer(model, _inputColumnName, _outputColumnName, _options.LogLikelihoodColumnName,
            seed, _options.LogLikelihoodSampleCount, _options.BatchSize);
    }

    /// <summary>The input shape plus the embedding (vector of float) and log-likelihood (float) columns.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        FeatureColumn.Check(inputSchema, _inputColumnName);
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns[_outputColumnName] = MLNetInternals.CreateShapeColumn(_outputColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single);
        columns[_options.LogLikelihoodColumnName] = MLNetInternals.CreateShapeColumn(_options.LogLikelihoodColumnName, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single);
        return new SchemaShape(columns.Values);
    }
}

/// <summary>
/// Applies a trained VAE: adds the embedding column (posterior mean, <see cref="VaeModel.LatentSize"/> floats) and the
/// log-likelihood column (IWAE estimate of log p(x) in nats with <see cref="VaeTransformerBase.LogLikelihoodSampleCount"/>
/// samples). Save it with <see cref="VaeTransformerBase.Save(string)"/> and read it back with <see cref="Load(string)"/>.
/// </summary>
public sealed class VaeEmbeddingTransformer : VaeTransformerBase
{
    private const int EmbeddingSlot = 0, LogLikelihoodSlot = 1;

    internal VaeEmbeddingTransformer(VaeModel model, string inputColumnName, string embeddingColumnName, string logLikelihoodColumnName,
        int seed, int logLikelihoodSampleCount, int batchSize)
        : base(model, inputColumnName, seed, logLikelihoodSampleCount, batchSize)
    {
        EmbeddingColumnName = embeddingColumnName;
        LogLikelihoodColumnName = logLikelihoodColumnName;
        AddedColumns =
        [
            new VectorColumn(embeddingColumnName, EmbeddingSlot, model.LatentSize),
            new SingleColumn(logLikelihoodColumnName, LogLikelihoodSlot),
        ];
        SlotWidths = [model.LatentSize, 1];
    }

    /// <summary>Name of the added embedding column.</summary>
    public string EmbeddingColumnName { get; }

    /// <summary>Name of the added log-likelihood column.</summary>
    public string LogLikelihoodColumnName { get; }

    internal override AddedColumn[] AddedColumns { get; }

    internal override int[] SlotWidths { get; }

    private protected override string ComponentName => nameof(VaeEmbeddingTransformer);

    /// <summary>Reads a transformer written by <see cref="VaeTransformerBase.Save(string)"/>.</summary>
    public static VaeEmbeddingTransformer Load(string path)
    {
        using var stream = File.OpenRead(path);
        return Load(stream);
    }

    /// <inheritdoc cref="Load(string)"/>
    public static VaeEmbeddingTransformer Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        var header = ReadHeader(reader, nameof(VaeEmbeddingTransformer));
        string embedding = reader.ReadString(), logLikelihood = reader.ReadString();
        return new VaeEmbeddingTransformer(VaeModel.Load(stream), header.InputColumnName, embedding, logLikelihood,
            header.Seed, header.LogLikelihoodSampleCount, header.BatchSize);
    }

    private protected override void WriteSettings(BinaryWriter writer)
    {
        writer.Write(EmbeddingColumnName);
        writer.Write(LogLikelihoodColumnName);
    }

    private protected override void ScoreSlots(ReadOnlySpan<float> features, int rows, bool[] slotsNeeded, float[][] slots)
    {
        int latent = Model.LatentSize;
        if (slotsNeeded[EmbeddingSlot])
            Model.Embed(features, rows, slots[EmbeddingSlot].AsSpan(0, rows * latent), new float[rows * latent]);
        if (slotsNeeded[LogLikelihoodSlot])
            LogLikelihood(features, rows, slots[LogLikelihoodSlot].AsSpan(0, rows));
    }
}
