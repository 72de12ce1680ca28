// A fresh app that installed Microsoft.ML.Vae from artifacts/packages (eng/test-packages.sh builds and runs it): it
// trains, scores, saves, reloads and exports to ONNX through the package alone, and writes rows and their
// log-likelihoods for the 'vae' tool to reproduce. Exits with 1 and the failed check when the package does not behave.
using System.Globalization;
using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Anomaly;

string outputFolder = args.Length == 1 ? args[0] : throw new ArgumentException("Usage: Core OUTPUT_FOLDER");
var failures = new List<string>();
void Check(bool condition, string what) { if (!condition) failures.Add(what); }

// Six sensors driven by two hidden factors; an anomaly shifts one sensor far from what the factors imply.
var random = new Random(7);
float Gaussian() => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
float[] Sensors(bool anomalous)
{
    float a = Gaussian(), b = Gaussian();
    float[] row = [a, b, a + b, a - b, 0.5f * a + b, a - 0.5f * b];
    for (int i = 0; i < row.Length; i++) row[i] += 0.1f * Gaussian();
    if (anomalous) row[random.Next(row.Length)] += 6f;
    return row;
}
var train = FeatureMatrix.FromRows(Enumerable.Range(0, 600).Select(_ => Sensors(false)).ToArray());
bool[] isAnomaly = Enumerable.Range(0, 200).Select(i => i % 4 == 0).ToArray();
var test = FeatureMatrix.FromRows(isAnomaly.Select(Sensors).ToArray());

var modelOptions = new VaeModelOptions { HiddenSizes = [32], LatentSize = 2, Decoder = DecoderKind.Gaussian, LearnDecoderVariance = true };
using VaeModel model = new VaeTrainer(modelOptions, new VaeTrainerOptions { Epochs = 30, BatchSize = 50, SampleCount = 5, Seed = 1 }).Fit(train);
var embedding = model.Embed(test);
Check(embedding.Rows == test.Rows && embedding.Columns == 2, $"Embed gave {embedding.Rows} x {embedding.Columns}, expected {test.Rows} x 2");
float[] logLikelihood = model.LogLikelihood(test, sampleCount: 100);
Check(logLikelihood.All(float.IsFinite), "LogLikelihood gave a non-finite value");
double normalMean = logLikelihood.Where((_, i) => !isAnomaly[i]).Average(), anomalousMean = logLikelihood.Where((_, i) => isAnomaly[i]).Average();
Check(normalMean > anomalousMean + 5, $"normal rows' mean log-likelihood {normalMean:F2} is not well above the shifted rows' {anomalousMean:F2}");

string modelPath = Path.Combine(outputFolder, "model.vae");
model.Save(modelPath);
using (var loaded = VaeModel.Load(modelPath))
    Check(loaded.LogLikelihood(test, sampleCount: 100).SequenceEqual(logLikelihood), "the reloaded model scores differently");
// The ONNX export needs the package's Google.Protobuf dependency at run time.
string onnxPath = Path.Combine(outputFolder, "model.onnx");
model.ExportOnnx(onnxPath);
Check(new FileInfo(onnxPath).Length > 1000, "ExportOnnx wrote no model");

using VaeAnomalyDetector detector = new VaeAnomalyTrainer(new VaeAnomalyDetectorOptions
{
    Model = modelOptions,
    Trainer = new VaeTrainerOptions { Epochs = 30, BatchSize = 50, SampleCount = 5, Seed = 1 },
    FeatureScaling = FeatureScaling.Standardize,
    TargetFalsePositiveRate = 0.05,
}).Fit(train);
var metrics = AnomalyEvaluator.Evaluate(detector.Score(test), isAnomaly, detector.Threshold);
Check(metrics.AreaUnderRocCurve > 0.95, $"the detector's AUROC is {metrics.AreaUnderRocCurve:F3}, expected above 0.95");
Check(detector.Predict(test).Count(p => p.PredictedLabel) == metrics.TruePositives + metrics.FalsePositives, "Predict flags other rows than Score > Threshold");

// For the tool: the test rows (CSV without a header) and the log-likelihoods it must reproduce (K = 100, seed 0).
static string Format(float value) => value.ToString("R", CultureInfo.InvariantCulture);
File.WriteAllLines(Path.Combine(outputFolder, "rows.csv"), Enumerable.Range(0, test.Rows).Select(r => string.Join(',', test.Row(r).ToArray().Select(Format))));
File.WriteAllLines(Path.Combine(outputFolder, "log-likelihood.txt"), logLikelihood.Select(Format));

foreach (string failure in failures) Console.Error.WriteLine($"FAILED: {failure}");
Console.WriteLine($"Microsoft.ML.Vae from the package: log-likelihood normal {normalMean:F2}, shifted {anomalousMean:F2}; detector AUROC {metrics.AreaUnderRocCurve:F3}; {failures.Count} failed checks");
return failures.Count == 0 ? 0 : 1;
