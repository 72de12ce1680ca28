namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// The tensor names of an export for ML.NET's OnnxTransformer, which maps columns to tensors by name: the input tensor
/// is named as the feature column, each wanted output as its column. An ONNX graph cannot have an input and an output
/// of the same name, so an output column named like the input column gets a temporary tensor name, renamed after scoring.
/// </summary>
internal sealed class OnnxColumnNames(string inputColumnName)
{
    private const string TemporarySuffix = ".vae_output";
    private readonly List<(string Column, string Tensor)> _outputs = [];

    public string Input { get; } = inputColumnName;

    /// <summary>The outputs asked for with <see cref="Output"/>, in order.</summary>
    public IReadOnlyList<(string Column, string Tensor)> Outputs => _outputs;

    /// <summary>The tensor name for the output column <paramref name="column"/>.</summary>
    public string Output(string column)
    {
        string tensor = column == Input ? column + TemporarySuffix : column;
        _outputs.Add((column, tensor));
        return tensor;
    }

    /// <summary>A name for a value of the graph that no column takes (the threshold constant), unlike any column name a pipeline uses.</summary>
    public static string Unused(string value) => $"vae_unused.{value}";
}
