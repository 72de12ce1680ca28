using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Datasets;
using Microsoft.ML.Vae.Onnx;

// The exported graph in ONNX Runtime (CPU) against the managed engine on the same model and rows: the K-sample
// log-likelihood of the first test images (shared noise, the export's scheme) and the embedding of many rows.
// Usage: OnnxBench [--data DIR] [--model FILE] [--eval-rows 1000] [--eval-k 5000] [--embed-rows 10000] [--threads 2] [--repeats 3]
// Without --model it trains the 784-200-200-50 IWAE for one epoch on 10,000 training images (K = 1), so the
// weights are those of a model in training rather than random ones.
var arguments = ParseArguments(args);
int evalRows = int.Parse(arguments.GetValueOrDefault("eval-rows", "1000"));
int evalK = int.Parse(arguments.GetValueOrDefault("eval-k", "5000"));
int embedRows = int.Parse(arguments.GetValueOrDefault("embed-rows", "10000"));
int threads = int.Parse(arguments.GetValueOrDefault("threads", "2"));
int repeats = int.Parse(arguments.GetValueOrDefault("repeats", "3"));

var data = FashionMnist.Load(arguments.GetValueOrDefault("data"), maxTrain: 10000, maxTest: Math.Max(evalRows, embedRows));
using var model = arguments.TryGetValue("model", out var modelPath) ? VaeModel.Load(modelPath)
    : new VaeTrainer(new VaeModelOptions { HiddenSizes = [200, 200], LatentSize = 50 },
        new VaeTrainerOptions { SampleCount = 1, Epochs = 1, Threads = threads, Seed = 1 }).Fit(data.Train.Images);
var test = data.Test.Images;
var evalValues = test.Values[..(evalRows * test.Columns)];
var embedValues = Enumerable.Range(0, (embedRows + test.Rows - 1) / test.Rows).SelectMany(_ => test.Values).Take(embedRows * test.Columns).ToArray();
double peak = PeakFlops.Measure(threads);
Console.WriteLine($"model {model.InputSize}-{string.Join("-", model.Options.HiddenSizes)}-{model.LatentSize}, {threads} threads, best of {repeats}, " +
    $"machine: {Environment.ProcessorCount} logical cores, measured fp32 FMA peak {peak / 1e9:F0} GFLOP/s");
// FLOPs: the encoder once per row, the decoder once per sample row (the likelihood's own work is not counted).
double encoderFlops = PeakFlops.DenseForward([model.InputSize, .. model.Options.HiddenSizes, 2 * model.LatentSize]);
double decoderFlops = PeakFlops.DenseForward([model.LatentSize, .. model.Options.DecoderHiddenSizes ?? model.Options.HiddenSizes.Reverse().ToArray(), model.InputSize]);
double evalBound = (evalRows * encoderFlops + (double)evalRows * evalK * decoderFlops) / peak;
double embedBound = embedRows * encoderFlops / peak;

// One graph per job: ONNX Runtime runs every node of a graph whichever outputs are fetched.
using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads, InterOpNumThreads = 1 };
using var logLikelihoodSession = Session(new OnnxExportOptions { LogLikelihoodSampleCount = evalK, Outputs = OnnxOutputs.LogLikelihood });
using var embeddingSession = Session(new OnnxExportOptions { Outputs = OnnxOutputs.Embedding });

var managedLogLikelihood = new float[evalRows];
double managedEval = Best(() => model.LogLikelihood(evalValues, evalRows, managedLogLikelihood, evalK, sharedNoise: true));
float[] onnxLogLikelihood = [];
double onnxEval = Best(() => onnxLogLikelihood = Run(logLikelihoodSession, evalValues, evalRows, "LogLikelihood"));
double largestDifference = managedLogLikelihood.Zip(onnxLogLikelihood, (a, b) => Math.Abs(a - b) / Math.Abs(a)).Max();
Console.WriteLine($"log-likelihood K={evalK} of {evalRows} images: managed {managedEval:F2} s ({managedEval / evalBound:F2}x the FLOP-time bound {evalBound:F2} s), " +
    $"ONNX Runtime {onnxEval:F2} s ({onnxEval / evalBound:F2}x the bound, {onnxEval / managedEval:F2}x managed); mean {managedLogLikelihood.Average():F3} vs {onnxLogLikelihood.Average():F3} nats, largest relative difference {largestDifference:E1}");

using (var int16 = model.UseScoringPrecision(ScoringPrecision.Int16))
{
    var int16LogLikelihood = new float[evalRows];
    double int16Eval = Best(() => int16.LogLikelihood(evalValues, evalRows, int16LogLikelihood, evalK, sharedNoise: true));
    double largestInt16Difference = managedLogLikelihood.Zip(int16LogLikelihood, (a, b) => Math.Abs(a - b)).Max();
    Console.WriteLine($"  managed with ScoringPrecision.Int16: {int16Eval:F2} s ({int16Eval / evalBound:F2}x the bound, {onnxEval / int16Eval:F2}x faster than ONNX Runtime); " +
        $"mean {int16LogLikelihood.Average():F3} nats, largest difference from float32 {largestInt16Difference:F4} nats");
}

var mean = new float[embedRows * model.LatentSize];
var logVariance = new float[mean.Length];
double managedEmbed = Best(() => model.Embed(embedValues, embedRows, mean, logVariance));
double onnxEmbed = Best(() => Run(embeddingSession, embedValues, embedRows, "Embedding"));
Console.WriteLine($"embedding of {embedRows} rows: managed {managedEmbed * 1e3:F1} ms ({managedEmbed / embedBound:F2}x the bound {embedBound * 1e3:F1} ms), " +
    $"ONNX Runtime {onnxEmbed * 1e3:F1} ms ({onnxEmbed / embedBound:F2}x the bound, {onnxEmbed / managedEmbed:F2}x managed)");

InferenceSession Session(OnnxExportOptions options)
{
    using var stream = new MemoryStream();
    var clock = Stopwatch.StartNew();
    model.ExportOnnx(stream, options);
    Console.WriteLine($"export of {options.Outputs} (K={options.LogLikelihoodSampleCount}): {clock.Elapsed.TotalSeconds:F2} s, {stream.Length / 1e6:F1} MB");
    return new InferenceSession(stream.ToArray(), sessionOptions);
}

double Best(Action action)
{
    action(); // warm-up: JIT, ONNX Runtime's first-run allocations
    double best = double.MaxValue;
    for (int i = 0; i < repeats; i++)
    {
        var watch = Stopwatch.StartNew();
        action();
        best = Math.Min(best, watch.Elapsed.TotalSeconds);
    }
    return best;
}

static float[] Run(InferenceSession session, float[] values, int rows, string output)
{
    var input = NamedOnnxValue.CreateFromTensor("Features", new DenseTensor<float>(values, [rows, values.Length / rows]));
    using var results = session.Run([input], [output]);
    return results[0].AsTensor<float>().ToArray();
}

static Dictionary<string, string> ParseArguments(string[] args)
{
    var result = new Dictionary<string, string>();
    for (int i = 0; i + 1 < args.Length; i += 2)
    {
        if (!args[i].StartsWith("--")) throw new ArgumentException($"Unexpected argument '{args[i]}'; options look like --eval-k 5000.");
        result[args[i][2..]] = args[i + 1];
    }
    return result;
}
