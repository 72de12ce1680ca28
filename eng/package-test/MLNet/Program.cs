// A fresh app that installed Microsoft.ML.Vae.MLNet from artifacts/packages (eng/test-packages.sh builds and runs it):
// an ML.NET pipeline with VaeEmbed and one with the Iwae trainer, through the catalog methods alone. Exits with 1 and
// the failed check when the package or its dependencies (ML.NET, ONNX Runtime) do not work in an app.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Vae.Anomaly;

var failures = new List<string>();
void Check(bool condition, string what) { if (!condition) failures.Add(what); }

// Six sensors in [0, 1] driven by two hidden factors; an anomaly moves one sensor by 0.5 against what the factors imply.
var random = new Random(7);
SensorRow Sensors(bool anomalous)
{
    float a = random.NextSingle(), b = random.NextSingle();
    float[] values = [a, b, (a + b) / 2, a * b, 1 - a, 1 - b];
    if (anomalous) { int i = random.Next(values.Length); values[i] += values[i] < 0.5f ? 0.5f : -0.5f; }
    return new SensorRow { Features = values, IsAnomaly = anomalous };
}
var mlContext = new MLContext(seed: 1);
var train = mlContext.Data.LoadFromEnumerable(Enumerable.Range(0, 600).Select(_ => Sensors(false)).ToArray());
var testRows = Enumerable.Range(0, 200).Select(i => Sensors(i % 4 == 0)).ToArray();
var test = mlContext.Data.LoadFromEnumerable(testRows);

var embedded = mlContext.Transforms.VaeEmbed("Embedding", "Features", latentSize: 2, epochs: 10).Fit(train).Transform(test);
var embeddings = embedded.GetColumn<float[]>("Embedding").ToArray();
Check(embeddings.Length == 200 && embeddings.All(e => e.Length == 2 && e.All(float.IsFinite)), "VaeEmbed did not give 200 embeddings of 2 finite floats");
Check(OneValuePerRow(embedded, "LogLikelihood").All(float.IsFinite), "VaeEmbed gave a non-finite log-likelihood");

var scored = mlContext.AnomalyDetection.Trainers.Iwae("Features", latentSize: 2, epochs: 30, falsePositiveRate: 0.05).Fit(train).Transform(test);
// The AUROC through the core package's evaluator, which the ML.NET package brings with it. The bound is loose (0.92 to
// 0.94 seen over seeds): this checks that the installed pipeline detects, the tabular benchmark checks how well.
var metrics = AnomalyEvaluator.Evaluate(OneValuePerRow(scored, "Score"), testRows.Select(r => r.IsAnomaly).ToArray(), threshold: 0);
Check(metrics.AreaUnderRocCurve > 0.8, $"the Iwae trainer's AUROC is {metrics.AreaUnderRocCurve:F3}, expected above 0.8");

foreach (string failure in failures) Console.Error.WriteLine($"FAILED: {failure}");
Console.WriteLine($"Microsoft.ML.Vae.MLNet from the package: Iwae AUROC {metrics.AreaUnderRocCurve:F3}; {failures.Count} failed checks");
return failures.Count == 0 ? 0 : 1;

// A float column, or a vector of one float (what ML.NET's ONNX scoring gives for a single value), as one value per row.
static float[] OneValuePerRow(IDataView view, string column) =>
    view.Schema[column].Type is VectorDataViewType
        ? view.GetColumn<float[]>(column).Select(v => v.Length == 1 ? v[0] : float.NaN).ToArray()
        : view.GetColumn<float>(column).ToArray();

sealed class SensorRow
{
    [VectorType(6)] public float[] Features { get; set; } = [];
    [NoColumn] public bool IsAnomaly { get; set; }
}
