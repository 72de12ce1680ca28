// A fresh app that installed Microsoft.ML.Vae.MLNet from artifacts/packages (eng/test-packages.sh builds and runs it):
// an ML.NET pipeline with VaeEmbed and one with the Iwae trainer, through the catalog methods alone. Exits with 1 and
// the failed check when the package or its dependencies (ML.NET, ONNX Runtime) do not work in an app.
using Microsoft.ML;
using Microsoft.ML.Data;

var failures = new List<string>();
void Check(bool condition, string what) { if (!condition) failures.Add(what); }

// Six sensors in [0, 1] driven by two hidden factors; an anomaly sets one sensor against what the factors imply.
var random = new Random(7);
SensorRow Sensors(bool anomalous)
{
    float a = random.NextSingle(), b = random.NextSingle();
    float[] values = [a, b, (a + b) / 2, a * b, 1 - a, 1 - b];
    if (anomalous) { int i = random.Next(values.Length); values[i] = 1 - values[i]; }
    return new SensorRow { Features = values, Label = anomalous ? 1 : 0 };
}
var mlContext = new MLContext(seed: 1);
var train = mlContext.Data.LoadFromEnumerable(Enumerable.Range(0, 600).Select(_ => Sensors(false)).ToArray());
var test = mlContext.Data.LoadFromEnumerable(Enumerable.Range(0, 200).Select(i => Sensors(i % 4 == 0)).ToArray());

var embedding = mlContext.Transforms.VaeEmbed("Embedding", "Features", latentSize: 2, epochs: 10)
    .Fit(train).Transform(test);
var embedded = mlContext.Data.CreateEnumerable<EmbeddedRow>(embedding, reuseRowObject: false).ToArray();
Check(embedded.Length == 200, $"VaeEmbed gave {embedded.Length} rows, expected 200");
Check(embedded.All(r => r.Embedding.Length == 2 && r.Embedding.All(float.IsFinite)), "VaeEmbed gave an embedding that is not 2 finite floats");
Check(embedded.All(r => float.IsFinite(r.LogLikelihood)), "VaeEmbed gave a non-finite log-likelihood");

var detector = mlContext.AnomalyDetection.Trainers.Iwae("Features", latentSize: 2, epochs: 30, falsePositiveRate: 0.05).Fit(train);
var metrics = mlContext.AnomalyDetection.Evaluate(detector.Transform(test));
Check(metrics.AreaUnderRocCurve > 0.9, $"the Iwae trainer's AUROC is {metrics.AreaUnderRocCurve:F3}, expected above 0.9");

foreach (string failure in failures) Console.Error.WriteLine($"FAILED: {failure}");
Console.WriteLine($"Microsoft.ML.Vae.MLNet from the package: Iwae AUROC {metrics.AreaUnderRocCurve:F3}; {failures.Count} failed checks");
return failures.Count == 0 ? 0 : 1;

sealed class SensorRow
{
    [VectorType(6)] public float[] Features { get; set; } = [];
    /// <summary>1 for an anomaly, as ML.NET's anomaly evaluator wants it.</summary>
    public float Label { get; set; }
}

sealed class EmbeddedRow
{
    [VectorType(2)] public float[] Embedding { get; set; } = [];
    public float LogLikelihood { get; set; }
}
