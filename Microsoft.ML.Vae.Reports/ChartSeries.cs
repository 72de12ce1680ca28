namespace Microsoft.ML.Vae.Reports;

/// <summary>One named, coloured series of points of a chart; <see cref="Color"/> is any CSS colour (e.g. "#1f77b4").</summary>
public sealed record ChartSeries(string Name, string Color, IReadOnlyList<double> X, IReadOnlyList<double> Y)
{
    internal void Validate()
    {
        if (X.Count != Y.Count)
            throw new ArgumentException($"Series '{Name}' has {X.Count} x values but {Y.Count} y values: give one y per x.");
    }
}
