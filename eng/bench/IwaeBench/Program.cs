using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Datasets;

// Times the Burda et al. one-layer IWAE (784-200-200-50 tanh, Bernoulli, batch 100, Adam lr 1e-3 eps 1e-4) on
// Fashion-MNIST: ms per training batch at each K, and the K=5000 log-likelihood of the first test images.
// Usage: IwaeBench [--ks 1,5,50] [--batches 30] [--batch 100] [--eval-rows 1000] [--eval-k 5000] [--engine managed|libtorch]
//     [--device cpu|cuda] [--device-loop 0|1] [--report-interval 5] [--threads N] [--eval-mode batched|shared|per-row|device]
//     [--eval-precision float32|int16] [--json FILE]
// --eval-mode: one call with a stream per row (default), one call with shared noise (what the ML.NET layer does), one
// call per row (what the ML.NET layer did before shared noise), or the libtorch engine's noise drawn on the device.
// --eval-precision int16 scores with ScoringPrecision.Int16, then again in float32 (untimed) to report the difference.
// --device-loop 1 trains with VaeTrainerOptions.TrainOnDevice (libtorch): the host reads back every --report-interval
// batches only, so the time per batch is the time between the first and the last read-back over the batches between.
var arguments = ParseArguments(args);
int[] ks = arguments.GetValueOrDefault("ks", "1,5,50").Split(',').Select(int.Parse).ToArray();
int batches = int.Parse(arguments.GetValueOrDefault("batches", "30"));
int evalRows = int.Parse(arguments.GetValueOrDefault("eval-rows", "1000"));
int evalK = int.Parse(arguments.GetValueOrDefault("eval-k", "5000"));
var engine = Enum.Parse<EngineKind>(arguments.GetValueOrDefault("engine", "managed"), ignoreCase: true);
int threads = int.Parse(arguments.GetValueOrDefault("threads", "0"));
string evalMode = arguments.GetValueOrDefault("eval-mode", "batched");
if (evalMode is not ("batched" or "shared" or "per-row" or "device")) throw new ArgumentException($"--eval-mode is batched, shared, per-row or device (got {evalMode}).");
var evalPrecision = Enum.Parse<ScoringPrecision>(arguments.GetValueOrDefault("eval-precision", "float32"), ignoreCase: true);
int batchSize = int.Parse(arguments.GetValueOrDefault("batch", "100"));
string? device = arguments.GetValueOrDefault("device");
bool deviceLoop = arguments.GetValueOrDefault("device-loop", "0") == "1";
int reportInterval = int.Parse(arguments.GetValueOrDefault("report-interval", "5"));
if (deviceLoop && batches % reportInterval != 0) throw new ArgumentException($"--batches {batches} must be a multiple of --report-interval {reportInterval}.");
const int warmupBatches = 5;

var data = FashionMnist.Load(arguments.GetValueOrDefault("data"), maxTrain: (batches + warmupBatches) * batchSize, maxTest: evalRows);
// The bundled subset (3000 images, what a machine without the data set has) is repeated to fill large batches.
int neededValues = (batches + warmupBatches) * batchSize * 784;
float[] loaded = data.Train.Images.Values, trainValues = loaded;
if (loaded.Length < neededValues)
{
    Console.WriteLine($"the {data.Train.Images.Rows} training images are repeated to fill {batches + warmupBatches} batches of {batchSize}");
    trainValues = Enumerable.Range(0, neededValues).Select(i => loaded[i % loaded.Length]).ToArray();
}
var modelOptions = new VaeModelOptions { HiddenSizes = [200, 200], LatentSize = 50, Activation = Activation.Tanh, Decoder = DecoderKind.Bernoulli };
var results = new Dictionary<string, double>();
double peak = PeakFlops.Measure(threads > 0 ? threads : Environment.ProcessorCount);
results["peak_gflops"] = peak / 1e9;
Console.WriteLine($"measured fp32 FMA peak {peak / 1e9:F0} GFLOP/s");
// A training step is about 3x its forward pass (forward, and two products per layer backward).
double encoderFlops = PeakFlops.DenseForward([784, 200, 200, 100]), decoderFlops = PeakFlops.DenseForward([50, 200, 200, 784]);
VaeModel? model = null;
Console.WriteLine($"engine {engine}{(deviceLoop ? " (device loop)" : "")}, device {device ?? "default"}, batch {batchSize}");
foreach (int k in ks)
{
    var options = new VaeTrainerOptions
    {
        SampleCount = k, Epochs = 1, BatchSize = batchSize, LearningRate = 1e-3f, Epsilon = 1e-4f, Binarization = Binarization.Dynamic, Engine = engine,
        Threads = threads, Device = device, FallbackToCpu = false, TrainOnDevice = deviceLoop, DeviceReportInterval = reportInterval,
    };
    var warmup = new FeatureMatrix(trainValues[..(warmupBatches * batchSize * 784)], warmupBatches * batchSize, 784);
    new VaeTrainer(modelOptions, options).Fit(warmup);
    var timed = new FeatureMatrix(trainValues[(warmupBatches * batchSize * 784)..neededValues], batches * batchSize, 784);
    var elapsed = new List<double>();
    var clock = Stopwatch.StartNew();
    var loops = new HashSet<string>();
    model = new VaeTrainer(modelOptions, options).Fit(timed, new BatchClock(elapsed, loops));
    if (deviceLoop && !loops.SetEquals(["device"])) throw new InvalidOperationException($"--device-loop 1 trained on: {string.Join(", ", loops)}");
    double mean = clock.Elapsed.TotalMilliseconds / batches;
    // Per-batch times from the progress reports (each report's Elapsed), median as the PyTorch peer reports; the
    // device loop reports every reportInterval batches, and its first interval (upload, warm-up) is left out.
    var perBatch = deviceLoop
        ? [(elapsed[^1] - elapsed[0]) / (batches - reportInterval)]
        : elapsed.Zip(elapsed.Skip(1), (a, b) => b - a).Prepend(elapsed[0]).Order().ToArray();
    double median = perBatch[perBatch.Length / 2];
    results[$"k{k}_ms"] = median;
    results[$"k{k}_mean_ms"] = mean;
    // The timed epoch's mean bound: runs of the same options and data (e.g. with and without CUDA graphs) compare by it.
    results[$"k{k}_training_bound"] = model.History[^1].TrainingBound;
    double bound = 3 * batchSize * (encoderFlops + k * decoderFlops) / peak * 1e3;
    results[$"k{k}_bound_ms"] = bound;
    Console.WriteLine($"train K={k,-3} median {median,8:F2} ms/batch, mean {mean,8:F2}; FLOP-time bound {bound:F2} ms ({median / bound:F2}x)");
}
if (evalRows > 0 && model is not null)
{
    var test = data.Test.Images;
    var floatModel = model;
    if (evalPrecision != ScoringPrecision.Float32) model = model.UseScoringPrecision(evalPrecision);
    var warmup = new FeatureMatrix(test.Values[..784], 1, 784);
    if (evalMode == "device") model.LogLikelihoodOnDevice(warmup, evalK);
    else model.LogLikelihood(warmup, evalK); // JIT warm-up
    var clock = Stopwatch.StartNew();
    var ll = new float[test.Rows];
    if (evalMode == "device") ll = model.LogLikelihoodOnDevice(test, evalK);
    else if (evalMode == "per-row")
        for (int r = 0; r < test.Rows; r++) model.LogLikelihood(test.Row(r), 1, ll.AsSpan(r, 1), evalK);
    else model.LogLikelihood(test.Values, test.Rows, ll, evalK, sharedNoise: evalMode == "shared");
    results["eval_seconds"] = clock.Elapsed.TotalSeconds;
    results["eval_rows"] = test.Rows;
    results["eval_mean_log_likelihood"] = ll.Average(v => (double)v);
    double evalBound = test.Rows * (encoderFlops + (double)evalK * decoderFlops) / peak;
    results["eval_bound_seconds"] = evalBound;
    Console.WriteLine($"eval K={evalK} of {test.Rows} images ({evalMode}, {evalPrecision}): {results["eval_seconds"]:F2} s; FLOP-time bound {evalBound:F2} s ({results["eval_seconds"] / evalBound:F2}x)");
    if (evalPrecision != ScoringPrecision.Float32 && evalMode == "batched")
    {
        var reference = new float[test.Rows];
        floatModel.LogLikelihood(test.Values, test.Rows, reference, evalK);
        var difference = ll.Zip(reference, (low, full) => (double)low - full).ToArray();
        results["eval_mean_difference"] = difference.Average();
        results["eval_max_abs_difference"] = difference.Max(Math.Abs);
        Console.WriteLine($"  {evalPrecision} - float32, same noise: mean {difference.Average():F4} nats, mean |.| {difference.Average(Math.Abs):F4}, largest |.| {difference.Max(Math.Abs):F4} (float32 mean {reference.Average(v => (double)v):F3})");
    }
}
if (arguments.TryGetValue("json", out var jsonPath))
{
    using var stream = File.Create(jsonPath);
    using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
    writer.WriteStartObject();
    writer.WriteString("engine", engine.ToString().ToLowerInvariant() + (deviceLoop ? " device loop" : ""));
    writer.WriteString("engine_name", model?.EngineName ?? "");
    writer.WriteNumber("batch", batchSize);
    writer.WriteNumber("threads", Environment.ProcessorCount);
    foreach (var (key, value) in results) writer.WriteNumber(key, value);
    writer.WriteEndObject();
}

static Dictionary<string, string> ParseArguments(string[] args)
{
    var result = new Dictionary<string, string>();
    for (int i = 0; i + 1 < args.Length; i += 2)
    {
        if (!args[i].StartsWith("--")) throw new ArgumentException($"Unexpected argument '{args[i]}'; options look like --ks 1,5,50.");
        result[args[i][2..]] = args[i + 1];
    }
    return result;
}

/// <summary>Records each report's elapsed training time (milliseconds) and the training loop, on the reporting thread.</summary>
internal sealed class BatchClock(List<double> elapsed, HashSet<string> loops) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value)
    {
        elapsed.Add(value.Elapsed.TotalMilliseconds);
        loops.Add(value.TrainingLoop);
    }
}
