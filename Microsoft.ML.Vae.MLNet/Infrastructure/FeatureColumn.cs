using Microsoft.ML.Data;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// The input column of the VAE components: a known-size vector of float. Checks it in an estimator's
/// <see cref="SchemaShape"/> and in a <see cref="DataViewSchema"/>, and reads it into a <see cref="FeatureMatrix"/>.
/// </summary>
internal static class FeatureColumn
{
    private const string Fix = "Concatenate the numeric feature columns into one vector of float " +
        "(mlContext.Transforms.Concatenate, after Conversion.ConvertType(..., DataKind.Single) for other numeric types).";

    /// <summary>Checks the column in an estimator's input shape, where vector sizes are not known yet.</summary>
    public static void Check(SchemaShape inputSchema, string name)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var column = inputSchema.FirstOrDefault(c => c.Name == name);
        if (column.Name is null)
            throw Missing(name, inputSchema.Select(c => c.Name));
        if (column.IsKey || column.ItemType != NumberDataViewType.Single || column.Kind != SchemaShape.Column.VectorKind.Vector)
        {
            string kind = column.Kind switch
            {
                SchemaShape.Column.VectorKind.Scalar => "a scalar",
                SchemaShape.Column.VectorKind.VariableVector => "a vector of variable size",
                _ => "a vector",
            };
            throw Mismatch(name, $"{kind} of {(column.IsKey ? "key " : "")}{column.ItemType}");
        }
    }

    /// <summary>Checks the column in a schema and returns it; <paramref name="size"/>, when given, is the size the model needs.</summary>
    public static DataViewSchema.Column Check(DataViewSchema inputSchema, string name, int? size = null)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var found = inputSchema.GetColumnOrNull(name);
        if (found is not { } column)
            throw Missing(name, inputSchema.Where(c => !c.IsHidden).Select(c => c.Name));
        if (column.Type is not VectorDataViewType { ItemType: var item, Size: > 0 } vector || item != NumberDataViewType.Single)
            throw Mismatch(name, $"{column.Type}");
        if (size is { } expected && vector.Size != expected)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"Input column '{name}' has {vector.Size} values per row but the model was trained on {expected}: " +
                "feed the transformer data prepared by the same pipeline it was trained after.");
        return column;
    }

    /// <summary>
    /// Reads the column of every row, <paramref name="batchRows"/> rows at a time, into one matrix for the trainer.
    /// </summary>
    public static FeatureMatrix Read(IDataView data, DataViewSchema.Column column, int batchRows, CancellationToken cancellationToken)
    {
        int size = ((VectorDataViewType)column.Type).Size;
        long? count = data.GetRowCount();
        var values = new float[checked((int)(count ?? batchRows) * size)];
        int rows = 0;
        using (var cursor = data.GetRowCursor([column]))
        {
            var reader = new FeatureReader(cursor, column);
            while (cursor.MoveNext())
            {
                if (rows % batchRows == 0)
                    cancellationToken.ThrowIfCancellationRequested();
                if ((rows + 1) * size > values.Length)
                    Array.Resize(ref values, checked(Math.Max(values.Length * 2, (rows + 1) * size)));
                var row = values.AsSpan(rows * size, size);
                reader.Read(row);
                CheckFinite(row, cursor.Position, column.Name);
                rows++;
            }
        }
        if (rows == 0)
            throw new ArgumentException($"The training data has no rows: column '{column.Name}' needs at least one row to train on.", nameof(data));
        if (values.Length != rows * size)
            Array.Resize(ref values, rows * size);
        return new FeatureMatrix(values, rows, size);
    }

    /// <summary>A training row must be finite; the error names it by its position in the user's IDataView.</summary>
    private static void CheckFinite(ReadOnlySpan<float> row, long position, string name)
    {
        for (int i = 0; i < row.Length; i++)
            if (!float.IsFinite(row[i]))
                throw new ArgumentException(
                    $"Row {position} of the training data (counting from 0 in the order of the IDataView given to Fit) has {row[i]} at index {i} of column '{name}': " +
                    "training needs finite values. Drop such rows (mlContext.Data.FilterRowsByMissingValues) or replace them " +
                    "(mlContext.Transforms.ReplaceMissingValues) before this component; at scoring time such rows get NaN instead.", "input");
    }

    private static ArgumentOutOfRangeException Missing(string name, IEnumerable<string> available) =>
        new("inputSchema", $"Input column '{name}' was not found; the data has {string.Join(", ", available.Select(n => $"'{n}'"))}. " +
            "Name the column that holds the features (inputColumnName / FeatureColumnName).");

    private static ArgumentOutOfRangeException Mismatch(string name, string actual) =>
        new("inputSchema", $"Input column '{name}' must be a known-size vector of Single (float) but is {actual}. {Fix}");
}

/// <summary>Copies one row's feature vector (dense or sparse) out of a cursor into a span.</summary>
internal sealed class FeatureReader(DataViewRow row, DataViewSchema.Column column)
{
    private readonly ValueGetter<VBuffer<float>> _getter = row.GetGetter<VBuffer<float>>(column);
    private VBuffer<float> _buffer;

    public void Read(Span<float> destination)
    {
        _getter(ref _buffer);
        if (_buffer.Length != destination.Length)
            throw new InvalidOperationException($"Row {row.Position} of column '{column.Name}' has {_buffer.Length} values where its type promises {destination.Length}.");
        _buffer.CopyTo(destination);
    }
}
