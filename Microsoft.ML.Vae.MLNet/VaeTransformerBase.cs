using System.Text;
using Microsoft.ML.Data;
using Microsoft.ML.Vae.MLNet.Infrastructure;

namespace Microsoft.ML.Vae.MLNet;

/// <summary>
/// What the VAE transformers share: a trained <see cref="VaeModel"/> read from one input column, the lazy batched
/// <see cref="Transform"/>, the row mapper behind prediction engines, and saving in the core's format.
/// </summary>
/// <remarks>
/// A transformer computes its added columns in "slots" (float arrays per row); each added column reads one slot, and
/// only the slots some active column reads are computed.
/// </remarks>
public abstract class VaeTransformerBase : ITransformer, IDisposable
{
    private static readonly byte[] FileMagic = "MLVAE.MLNET\0"u8.ToArray();
    private const int FormatVersion = 1;

    private protected VaeTransformerBase(VaeModel model, string inputColumnName, int seed, int logLikelihoodSampleCount, int batchSize)
    {
        Model = model;
        InputColumnName = inputColumnName;
        Seed = seed;
        LogLikelihoodSampleCount = logLikelihoodSampleCount;
        BatchSize = batchSize;
    }

    /// <summary>The trained model (owned by this transformer: disposed with it).</summary>
    public VaeModel Model { get; }

    /// <summary>The column of features, a vector of <see cref="VaeModel.InputSize"/> floats.</summary>
    public string InputColumnName { get; }

    /// <summary>Seed of training, and of the log-likelihood samples when transforming.</summary>
    public int Seed { get; }

    /// <summary>K of the log-likelihood estimate.</summary>
    public int LogLikelihoodSampleCount { get; }

    /// <summary>Rows handed to the model at once when transforming.</summary>
    public int BatchSize { get; }

    /// <summary>True: <c>mlContext.Model.CreatePredictionEngine</c> works on this transformer.</summary>
    public bool IsRowToRowMapper => true;

    internal abstract AddedColumn[] AddedColumns { get; }

    /// <summary>Floats per row of each slot.</summary>
    internal abstract int[] SlotWidths { get; }

    private protected abstract string ComponentName { get; }

    /// <summary>Fills the needed slots (each <c>[rows, width]</c>) for <paramref name="rows"/> rows of features.</summary>
    private protected abstract void ScoreSlots(ReadOnlySpan<float> features, int rows, bool[] slotsNeeded, float[][] slots);

    /// <summary>Writes what the derived transformer adds to the saved settings (its column names, threshold).</summary>
    private protected abstract void WriteSettings(BinaryWriter writer);

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        FeatureColumn.Check(inputSchema, InputColumnName, Model.InputSize);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        foreach (var column in AddedColumns)
            builder.AddColumn(column.Name, column.Type);
        return builder.ToSchema();
    }

    /// <summary>Lazy: the added columns are computed, a batch of rows at a time, only when a cursor reads them.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new ScoredDataView(input, this, GetOutputSchema(input.Schema));
    }

    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        new ScoredRowMapper(inputSchema, this, GetOutputSchema(inputSchema));

    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        throw new NotSupportedException(
            $"{GetType().Name} cannot be written into an ML.NET model file (mlContext.Model.Save): the API for that is internal to ML.NET. " +
            $"Save it with its own Save(path) and read it back with {GetType().Name}.Load(path); save the rest of the pipeline " +
            "with mlContext.Model.Save as usual and append this transformer after loading (see docs/mlnet.md).");

    /// <summary>Writes the transformer (settings, column names, then the model in the core's format), atomically.</summary>
    public void Save(string path) => Vae.Model.AtomicFile.Write(path, GetType().Name, Save);

    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(FileMagic);
            writer.Write(FormatVersion);
            writer.Write(ComponentName);
            writer.Write(InputColumnName);
            writer.Write(Seed);
            writer.Write(LogLikelihoodSampleCount);
            writer.Write(BatchSize);
            WriteSettings(writer);
        }
        Model.Save(stream);
    }

    /// <summary>
    /// Disposes the model. Note that disposing a prediction engine disposes the transformer it was made from (ML.NET's
    /// rule); create it with <c>new PredictionEngineOptions { OwnsTransformer = false }</c> to keep using the transformer.
    /// </summary>
    public void Dispose() => Model.Dispose();

    /// <summary>Scores a batch; core errors name the row within the batch, so say where the batch starts.</summary>
    internal void Score(ReadOnlySpan<float> features, int rows, long firstPosition, bool[] slotsNeeded, float[][] slots)
    {
        try
        {
            ScoreSlots(features, rows, slotsNeeded, slots);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException(
                $"Column '{InputColumnName}' cannot be scored in the {rows} rows from row {firstPosition} on (rows below count from there): {e.Message}", e);
        }
    }

    /// <summary>
    /// log p(x) of a batch with the same noise for every row (the core's shared noise), so a row's estimate depends
    /// only on its values and <see cref="Seed"/>, not on which rows share its batch: Transform and a prediction engine
    /// agree, and the batch still runs as whole matrices.
    /// </summary>
    private protected void LogLikelihood(ReadOnlySpan<float> features, int rows, Span<float> result) =>
        LogLikelihood(Model, features, rows, result, LogLikelihoodSampleCount, Seed);

    /// <inheritdoc cref="LogLikelihood(ReadOnlySpan{float}, int, Span{float})"/>
    internal static void LogLikelihood(VaeModel model, ReadOnlySpan<float> features, int rows, Span<float> result, int sampleCount, int seed) =>
        model.LogLikelihood(features, rows, result, sampleCount, seed, sharedNoise: true);

    /// <summary>Reads what <see cref="Save(Stream)"/> wrote up to the derived settings, checking it is a <paramref name="componentName"/>.</summary>
    private protected static SavedHeader ReadHeader(BinaryReader reader, string componentName)
    {
        string what = $"a saved {componentName}";
        byte[] magic = reader.ReadBytes(FileMagic.Length);
        if (!magic.AsSpan().SequenceEqual(FileMagic))
            throw new InvalidDataException($"This is not {what}: it does not start with the Microsoft.ML.Vae.MLNet header. Load it with the type that saved it.");
        int version = reader.ReadInt32();
        if (version != FormatVersion)
            throw new InvalidDataException($"This {componentName} was saved in format version {version}; this version of Microsoft.ML.Vae.MLNet reads version {FormatVersion}.");
        string saved = reader.ReadString();
        if (saved != componentName)
            throw new InvalidDataException($"This file holds a {saved}, not {what}: load it with {saved}.Load.");
        return new SavedHeader(reader.ReadString(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
    }

    private protected sealed record SavedHeader(string InputColumnName, int Seed, int LogLikelihoodSampleCount, int BatchSize);
}
