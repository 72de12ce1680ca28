using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Datasets;
using Microsoft.ML.Vae.Diagnostics;

// Trains the same 784-200-200-50 tanh Bernoulli model on Fashion-MNIST with each objective, estimator and prior under
// the same budget (training images, epochs, batch 100, Adam lr 1e-3 eps 1e-4, dynamic binarisation, seed), then
// reports the IWAE estimate of the test log-likelihood (K = --eval-k) and the active units (Burda et al.).
// Usage: EstimatorComparison [--train 10000] [--test 1000] [--epochs 3] [--eval-k 5000] [--pseudo-inputs 500]
//        [--methods vae,iwae5,iwae50,stl,dreg5,learned-prior,vamp] [--data FOLDER] [--json FILE]
var arguments = ParseArguments(args);
int trainRows = Int(arguments, "train", 10000), testRows = Int(arguments, "test", 1000), epochs = Int(arguments, "epochs", 3);
int evalK = Int(arguments, "eval-k", 5000), pseudoInputs = Int(arguments, "pseudo-inputs", 500);
var methods = arguments.GetValueOrDefault("methods", "vae,iwae5,iwae50,stl,dreg5,learned-prior,vamp").Split(',');

var data = FashionMnist.Load(arguments.GetValueOrDefault("data"), maxTrain: trainRows, maxTest: testRows);
Console.WriteLine($"Fashion-MNIST from {data.Folder}: {data.Train.Images.Rows} training, {data.Test.Images.Rows} test images; " +
    $"{epochs} epochs; test log-likelihood with K = {evalK}; {Environment.ProcessorCount} cores");
// The test images binarised once (fixed seed), so every method is scored on the same 0/1 data.
var test = Binarize(data.Test.Images, seed: 123);

var results = new List<Dictionary<string, object>>();
foreach (string method in methods)
{
    var (model, trainer) = Configure(method, pseudoInputs, epochs);
    var clock = Stopwatch.StartNew();
    using var trained = new VaeTrainer(model, trainer).Fit(data.Train.Images);
    double trainSeconds = clock.Elapsed.TotalSeconds;
    clock.Restart();
    var logLikelihood = trained.LogLikelihood(test, evalK, seed: 7);
    double evalSeconds = clock.Elapsed.TotalSeconds;
    var diagnostics = LatentDiagnostics.Compute(trained, test);
    double mean = logLikelihood.Average(v => (double)v);
    double standardError = Math.Sqrt(logLikelihood.Average(v => (v - mean) * (v - mean)) / logLikelihood.Length);
    double kl = diagnostics.KlPerVariable.Sum();
    Console.WriteLine($"{method,-14} train bound {trained.History[^1].TrainingBound,8:F2}  test log p(x) {mean,8:F2} ± {standardError:F2}  " +
        $"KL {kl,6:F2}  active units {diagnostics.ActiveUnits,2}  train {trainSeconds,6:F0} s  eval {evalSeconds,5:F0} s");
    results.Add(new()
    {
        ["method"] = method, ["train_bound"] = trained.History[^1].TrainingBound, ["test_log_likelihood"] = mean,
        ["test_log_likelihood_standard_error"] = standardError, ["kl"] = kl, ["active_units"] = diagnostics.ActiveUnits,
        ["train_seconds"] = trainSeconds, ["eval_seconds"] = evalSeconds,
    });
}
if (arguments.TryGetValue("json", out var jsonPath))
    File.WriteAllText(jsonPath, JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["train_rows"] = data.Train.Images.Rows, ["test_rows"] = test.Rows, ["epochs"] = epochs, ["eval_k"] = evalK,
        ["cores"] = Environment.ProcessorCount, ["results"] = results,
    }, new JsonSerializerOptions { WriteIndented = true }));

static (VaeModelOptions Model, VaeTrainerOptions Trainer) Configure(string method, int pseudoInputs, int epochs)
{
    var model = new VaeModelOptions { HiddenSizes = [200, 200], LatentSize = 50, Activation = Activation.Tanh, Decoder = DecoderKind.Bernoulli };
    var trainer = new VaeTrainerOptions
    {
        Epochs = epochs, BatchSize = 100, LearningRate = 1e-3f, Epsilon = 1e-4f, Binarization = Binarization.Dynamic, Seed = 1,
    };
    switch (method)
    {
        case "vae": trainer.SampleCount = 1; break;
        case "iwae5": trainer.SampleCount = 5; break;
        case "iwae50": trainer.SampleCount = 50; break;
        case "stl": trainer.SampleCount = 1; trainer.GradientEstimator = GradientEstimator.StickingTheLanding; break;
        case "dreg5": trainer.SampleCount = 5; trainer.GradientEstimator = GradientEstimator.DoublyReparameterized; break;
        case "learned-prior": trainer.SampleCount = 1; model.Prior = PriorKind.LearnedGaussian; break;
        case "vamp": trainer.SampleCount = 1; model.Prior = PriorKind.Vamp; model.PseudoInputCount = pseudoInputs; break;
        default: throw new ArgumentException($"Unknown method '{method}'; use vae, iwae5, iwae50, stl, dreg5, learned-prior or vamp.");
    }
    return (model, trainer);
}

static FeatureMatrix Binarize(FeatureMatrix images, int seed)
{
    var random = new Random(seed);
    var values = images.Values.Select(v => random.NextSingle() < v ? 1f : 0f).ToArray();
    return new FeatureMatrix(values, images.Rows, images.Columns);
}

static int Int(Dictionary<string, string> arguments, string name, int fallback) =>
    arguments.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

static Dictionary<string, string> ParseArguments(string[] args)
{
    var result = new Dictionary<string, string>();
    for (int i = 0; i + 1 < args.Length; i += 2)
    {
        if (!args[i].StartsWith("--")) throw new ArgumentException($"Unexpected argument '{args[i]}'; options look like --epochs 3.");
        result[args[i][2..]] = args[i + 1];
    }
    return result;
}
