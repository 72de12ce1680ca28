namespace Microsoft.ML.Vae;

/// <summary>Checks of user data against a model, with messages that name the row and column at fault.</summary>
internal static class InputValidation
{
    /// <summary>Throws <see cref="ArgumentException"/> for a batch of the wrong size or with a value the decoder cannot model.</summary>
    /// <param name="x">The rows, row-major.</param>
    /// <param name="rows">How many rows <paramref name="x"/> holds.</param>
    /// <param name="columns">Values per row the model takes.</param>
    /// <param name="decoder">The decoder: Bernoulli needs values in [0, 1].</param>
    /// <param name="parameterName">The argument named in the exception.</param>
    /// <param name="firstRowIndex">The index of the first row in the caller's data, for the default messages.</param>
    /// <param name="position">How a cell is named in messages, from its row and column index; by default "Row r, column c" (0-based, as the arrays are indexed).</param>
    public static void CheckBatch(ReadOnlySpan<float> x, int rows, int columns, DecoderKind decoder, string parameterName, int firstRowIndex = 0,
        Func<int, int, string>? position = null)
    {
        position ??= (r, c) => $"Row {firstRowIndex + r}, column {c}";
        if (rows < 1) throw new ArgumentException("The data has no rows: at least one row is needed.", parameterName);
        if (x.Length != (long)rows * columns)
            throw new ArgumentException($"Expected {rows} rows of {columns} features ({(long)rows * columns} values) but got {x.Length} values: every row must have exactly {columns} features, as the model was trained with.", parameterName);
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * columns, columns);
            for (int c = 0; c < columns; c++)
            {
                float v = row[c];
                if (!float.IsFinite(v))
                    throw new ArgumentException($"{position(r, c)} is {v}: features must be finite numbers; impute or drop missing values first.", parameterName);
                if (decoder == DecoderKind.Bernoulli && (v < 0 || v > 1))
                    throw new ArgumentException($"{position(r, c)} is {v}, outside [0, 1]: the Bernoulli decoder needs features in [0, 1]; scale them (min-max) or use DecoderKind.Gaussian.", parameterName);
            }
        }
    }
}
