namespace Microsoft.ML.Vae;

/// <summary>Rows of float features, stored row-major in one array: the unit every batch API takes.</summary>
public sealed class FeatureMatrix
{
    /// <summary>Wraps <paramref name="values"/> (not copied) as <paramref name="rows"/> × <paramref name="columns"/>.</summary>
    public FeatureMatrix(float[] values, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (rows < 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, "The row count cannot be negative.");
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "A row needs at least one column.");
        if ((long)rows * columns != values.Length)
            throw new ArgumentException($"{values.Length} values do not make {rows} rows of {columns} columns ({(long)rows * columns} values).", nameof(values));
        Values = values;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>Copies rows of equal length; throws naming the first row whose length differs.</summary>
    public static FeatureMatrix FromRows(IReadOnlyList<float[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ArgumentException("No rows were given: at least one row is needed.", nameof(rows));
        int columns = rows[0]?.Length ?? throw new ArgumentException("Row 0 is null.", nameof(rows));
        if (columns == 0) throw new ArgumentException("Row 0 has no values.", nameof(rows));
        var values = new float[(long)rows.Count * columns];
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i] ?? throw new ArgumentException($"Row {i} is null.", nameof(rows));
            if (row.Length != columns)
                throw new ArgumentException($"Row {i} has {row.Length} values but row 0 has {columns}: every row must have the same length.", nameof(rows));
            row.CopyTo(values, (long)i * columns);
        }
        return new FeatureMatrix(values, rows.Count, columns);
    }

    public float[] Values { get; }

    public int Rows { get; }

    public int Columns { get; }

    public ReadOnlySpan<float> Row(int index) => Values.AsSpan(index * Columns, Columns);

    /// <summary>The rows as separate arrays (a copy).</summary>
    public float[][] ToRows()
    {
        var result = new float[Rows][];
        for (int i = 0; i < Rows; i++) result[i] = Row(i).ToArray();
        return result;
    }
}
