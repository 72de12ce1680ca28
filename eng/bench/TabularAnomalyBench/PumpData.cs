using System.Globalization;

namespace Microsoft.ML.Vae.TabularAnomalyBench;

/// <summary>
/// The TabularAnomaly sample's pump sensors (samples/TabularAnomaly/data/sensors.csv, copied beside the program): the
/// normal rows of the first 70% train, all rows of the last 30% test, as the sample splits them.
/// </summary>
internal static class PumpData
{
    private const int FirstFeature = 1, FeatureCount = 6, LabelColumn = 7, KindColumn = 8;

    public static TabularDataSet Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No pump data at '{Path.GetFullPath(path)}': build the project, which copies samples/TabularAnomaly/data/sensors.csv.", path);
        var rows = File.ReadLines(path).Skip(1).Where(line => line.Length > 0).Select((line, i) => Parse(line, i + 2, path)).ToList();
        int split = (int)(rows.Count * 0.7);
        var train = rows.Take(split).Where(r => !r.IsAnomaly).Select(r => r.Features).ToArray();
        var test = rows.Skip(split).ToList();
        // Two hidden drivers: the load level and the daily ambient cycle.
        return new TabularDataSet("pump", $"TabularAnomaly sample: 6 pump sensors, {train.Length} normal training rows",
            FeatureMatrix.FromRows(train), FeatureMatrix.FromRows(test.Select(r => r.Features).ToArray()),
            test.Select(r => r.IsAnomaly ? r.Kind : TabularDataSet.Normal).ToArray(), Rank: 2);
    }

    private static (float[] Features, bool IsAnomaly, string Kind) Parse(string line, int lineNumber, string path)
    {
        var fields = line.Split(',');
        if (fields.Length <= KindColumn) throw new FormatException($"{path} line {lineNumber} has {fields.Length} fields; {KindColumn + 1} are expected.");
        var features = new float[FeatureCount];
        for (int c = 0; c < FeatureCount; c++) features[c] = float.Parse(fields[FirstFeature + c], CultureInfo.InvariantCulture);
        return (features, fields[LabelColumn] == "1", fields[KindColumn]);
    }
}
