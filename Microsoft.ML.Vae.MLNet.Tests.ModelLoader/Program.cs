using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

// Usage: ModelLoader MODEL.zip FEATURE_COLUMN ROWS.csv OUT.csv OUTPUT_COLUMN...
// Loads MODEL.zip with mlContext.Model.Load, transforms the rows of ROWS.csv (one feature vector per line) and writes
// each output column as lines "column,row,value,value...", floats in round-trip format.
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: ModelLoader MODEL.zip FEATURE_COLUMN ROWS.csv OUT.csv OUTPUT_COLUMN...");
    return 2;
}
var mlContext = new MLContext();
var model = mlContext.Model.Load(args[0], out var inputSchema);
var featureType = (VectorDataViewType)inputSchema[args[1]].Type;
var rows = File.ReadAllLines(args[2]).Select(line => new FeatureRow
{
    Features = line.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray(),
}).ToArray();
var definition = SchemaDefinition.Create(typeof(FeatureRow));
definition[0].ColumnName = args[1];
definition[0].ColumnType = featureType;
var output = model.Transform(mlContext.Data.LoadFromEnumerable(rows, definition));

var lines = new List<string>();
foreach (string column in args[4..])
{
    var values = output.Schema[column].Type switch
    {
        VectorDataViewType { ItemType: BooleanDataViewType } => output.GetColumn<bool[]>(column).Select(v => v.Select(FormatBool)),
        VectorDataViewType => output.GetColumn<float[]>(column).Select(v => v.Select(Format)),
        BooleanDataViewType => output.GetColumn<bool>(column).Select(v => new[] { FormatBool(v) }.AsEnumerable()),
        _ => output.GetColumn<float>(column).Select(v => new[] { Format(v) }.AsEnumerable()),
    };
    lines.AddRange(values.Select((v, row) => $"{column},{row},{string.Join(",", v)}"));
}
File.WriteAllLines(args[3], lines);

// The point of this program: the model ran without any assembly of Microsoft.ML.Vae.
var ours = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).Where(n => n!.StartsWith("Microsoft.ML.Vae", StringComparison.Ordinal)).ToList();
if (ours.Count > 0)
{
    Console.Error.WriteLine($"loaded {string.Join(", ", ours)}");
    return 3;
}
return 0;

static string Format(float value) => value.ToString("R", CultureInfo.InvariantCulture);

static string FormatBool(bool value) => value ? "1" : "0";

internal sealed class FeatureRow
{
    public float[] Features { get; set; } = [];
}
