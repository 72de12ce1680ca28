using System.CommandLine;
using System.CommandLine.Invocation;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.Vae.Datasets;
using Microsoft.ML.Vae.Model;
using Spectre.Console;

namespace Microsoft.ML.Vae.Cli;

/// <summary>The command line: train on Fashion-MNIST, estimate the test log-likelihood, save the model and a JSON summary.</summary>
internal static class FashionMnistCommand
{
    public static RootCommand Create()
    {
        var data = new Option<string?>("--data", "Folder with the Fashion-MNIST IDX files (default: /usr/share/datasets/fashion-mnist, else the subset in data/fashion-mnist-small).");
        var k = new Option<int>("--k", () => 5, "Importance samples per row in training (1 = VAE/ELBO).");
        var epochs = new Option<int>("--epochs", () => 10, "Training epochs.");
        var batch = new Option<int>("--batch", () => 100, "Rows per minibatch.");
        var hidden = new Option<string>("--hidden", () => "200,200", "Hidden layer widths, comma-separated (the decoder mirrors them).");
        var latent = new Option<int>("--latent", () => 50, "Latent dimensions.");
        var trainSize = new Option<int>("--train-size", () => 60000, "Training images to use (at most what the data holds).");
        var evalSize = new Option<int>("--eval-size", () => 1000, "Test images whose log-likelihood is estimated.");
        var evalK = new Option<int>("--eval-k", () => 5000, "Importance samples per test image for the log-likelihood estimate.");
        var evalPrecision = new Option<string>("--eval-precision", () => "float32", CommandChoices.PrecisionHelp);
        var binarize = new Option<string>("--binarize", () => "dynamic", "Binarisation of the grey values: dynamic, threshold or none.");
        var lr = new Option<float>("--lr", () => 1e-3f, "Adam learning rate.");
        var seed = new Option<int>("--seed", () => 0, "Random seed.");
        var threads = new Option<int>("--threads", () => 0, "Worker threads (0 = all cores).");
        var engine = new Option<string>("--engine", () => "managed", "Engine: managed or libtorch.");
        var device = new Option<string?>("--device", "libtorch engine: cpu, cuda or cuda:N (default: CUDA when available).");
        var trainOnDevice = new Option<bool>("--train-on-device",
            "libtorch engine: keep the training rows on the device and draw the shuffling, binarisation and noise there (docs/libtorch.md).");
        var estimator = new Option<string>("--estimator", () => "reparam", "Gradient estimator: reparam, stl, dreg or score.");
        var objective = new Option<string>("--objective", () => "iwae", "Training objective: iwae, miwae, ciwae or piwae.");
        var prior = new Option<string>("--prior", () => "standard", "Prior: standard, learned or vamp.");
        var activation = new Option<string>("--activation", () => "tanh", "Hidden activation: tanh, relu, softplus or identity.");
        var validation = new Option<double>("--validation", () => 0, "Fraction of training rows held out for early stopping (0 = none).");
        var output = new Option<string?>("--out", "Where to save the trained model.");
        var json = new Option<string?>("--json", "Where to write a JSON summary (train_seconds, ms_per_batch, test_log_likelihood, eval_seconds, ...).");

        var root = new RootCommand("Trains a VAE/IWAE on Fashion-MNIST with Microsoft.ML.Vae and estimates the test log-likelihood.")
        {
            data, k, epochs, batch, hidden, latent, trainSize, evalSize, evalK, evalPrecision, binarize, lr, seed, threads, engine, device, trainOnDevice,
            estimator, objective, prior, activation, validation, output, json,
        };
        root.SetHandler((InvocationContext context) =>
        {
            T Get<T>(Option<T> option) => context.ParseResult.GetValueForOption(option)!;
            CommandErrors.Run(context, OptionNames, () =>
            {
                var settings = new RunSettings(
                    Get(data), Get(k), Get(epochs), Get(batch), ParseWidths(Get(hidden)), Get(latent), Get(trainSize), Get(evalSize),
                    Get(evalK), CommandChoices.Parse("--eval-precision", Get(evalPrecision), CommandChoices.PrecisionNames),
                    ParseBinarization(Get(binarize)), Get(lr), Get(seed), Get(threads), ParseEngine(Get(engine)), Get(device), Get(trainOnDevice),
                    CommandChoices.Parse("--estimator", Get(estimator), EstimatorNames), CommandChoices.Parse("--objective", Get(objective), ObjectiveNames),
                    CommandChoices.Parse("--prior", Get(prior), PriorNames), CommandChoices.Parse("--activation", Get(activation), ActivationNames), Get(validation),
                    Get(output), Get(json));
                return Run(settings, context.GetCancellationToken());
            });
        });
        return root;
    }

    /// <summary>The options of the library's messages that this command sets, by the name the user typed.</summary>
    private static readonly Dictionary<string, string> OptionNames = new()
    {
        [nameof(VaeTrainerOptions.SampleCount)] = "--k", [nameof(VaeTrainerOptions.Epochs)] = "--epochs", [nameof(VaeTrainerOptions.BatchSize)] = "--batch",
        [nameof(VaeModelOptions.HiddenSizes)] = "--hidden", [nameof(VaeModelOptions.DecoderHiddenSizes)] = "--hidden", [nameof(VaeModelOptions.LatentSize)] = "--latent",
        [nameof(VaeTrainerOptions.LearningRate)] = "--lr", [nameof(VaeTrainerOptions.Threads)] = "--threads", [nameof(VaeTrainerOptions.Device)] = "--device",
        [nameof(VaeTrainerOptions.TrainOnDevice)] = "--train-on-device",
        [nameof(VaeTrainerOptions.GradientEstimator)] = "--estimator", [nameof(VaeTrainerOptions.Objective)] = "--objective", [nameof(VaeModelOptions.Prior)] = "--prior",
        [nameof(VaeModelOptions.Activation)] = "--activation", [nameof(VaeTrainerOptions.ValidationFraction)] = "--validation", ["sampleCount"] = "--eval-k",
    };

    private sealed record RunSettings(string? Data, int K, int Epochs, int Batch, int[] Hidden, int Latent, int TrainSize, int EvalSize,
        int EvalK, ScoringPrecision EvalPrecision, Binarization Binarization, float LearningRate, int Seed, int Threads, EngineKind Engine,
        string? Device, bool TrainOnDevice,
        GradientEstimator Estimator, TrainingObjective Objective, PriorKind Prior, Activation Activation, double Validation, string? Output, string? Json);

    private static readonly Dictionary<string, GradientEstimator> EstimatorNames = new()
    {
        ["reparam"] = GradientEstimator.Reparameterization, ["stl"] = GradientEstimator.StickingTheLanding,
        ["dreg"] = GradientEstimator.DoublyReparameterized, ["score"] = GradientEstimator.ScoreFunction,
    };
    private static readonly Dictionary<string, TrainingObjective> ObjectiveNames = new()
    {
        ["iwae"] = TrainingObjective.Iwae, ["miwae"] = TrainingObjective.Miwae, ["ciwae"] = TrainingObjective.Ciwae, ["piwae"] = TrainingObjective.Piwae,
    };
    private static readonly Dictionary<string, PriorKind> PriorNames = new()
    {
        ["standard"] = PriorKind.Standard, ["learned"] = PriorKind.LearnedGaussian, ["vamp"] = PriorKind.Vamp,
    };
    private static readonly Dictionary<string, Activation> ActivationNames = new()
    {
        ["tanh"] = Activation.Tanh, ["relu"] = Activation.Relu, ["softplus"] = Activation.Softplus, ["identity"] = Activation.Identity,
    };

    private static int Run(RunSettings s, CancellationToken cancellationToken)
    {
        if (s.TrainSize < 1) throw new ArgumentException($"--train-size must be at least 1 (got {s.TrainSize}).");
        if (s.EvalSize < 0) throw new ArgumentException($"--eval-size cannot be negative (got {s.EvalSize}).");
        if (s.EvalK < 1) throw new ArgumentException($"--eval-k must be at least 1 (got {s.EvalK}).");
        if (s.EvalPrecision != ScoringPrecision.Float32 && s.Engine != EngineKind.Managed)
            throw new ArgumentException($"--eval-precision {s.EvalPrecision.ToString().ToLowerInvariant()} runs on the managed engine only: " +
                "use --engine managed, or --eval-precision float32.");
        if (s.Output is not null) CommandPaths.CheckOutput(s.Output, "--out");
        if (s.Json is not null) CommandPaths.CheckOutput(s.Json, "--json");
        if (s.Output is not null && s.Json is not null) CommandPaths.CheckDistinct(s.Json, "--json", s.Output, "--out");
        var dataset = FashionMnist.Load(s.Data, s.TrainSize, s.EvalSize);
        if (dataset.Test.Images.Rows > 0 && dataset.Test.Images.Columns != dataset.Train.Images.Columns)
            throw new InvalidDataException(
                $"--data: the test images in {dataset.Folder} have {dataset.Test.Images.Columns} pixels but the training images {dataset.Train.Images.Columns}; " +
                "both files must hold images of one size.");
        if (dataset.IsBundledSubset)
            AnsiConsole.MarkupLineInterpolated($"[yellow]Fashion-MNIST is not installed; using the small subset in {dataset.Folder} ({dataset.Train.Images.Rows} training, {dataset.Test.Images.Rows} test images). Install the full set with 'apt-get install dataset-fashion-mnist'.[/]");
        else
            AnsiConsole.MarkupLineInterpolated($"Fashion-MNIST from {dataset.Folder}: {dataset.Train.Images.Rows} training, {dataset.Test.Images.Rows} test images.");

        var modelOptions = new VaeModelOptions { HiddenSizes = s.Hidden, LatentSize = s.Latent, Prior = s.Prior, Activation = s.Activation };
        var trainerOptions = new VaeTrainerOptions
        {
            SampleCount = s.K, Epochs = s.Epochs, BatchSize = s.Batch, LearningRate = s.LearningRate, Binarization = s.Binarization,
            Seed = s.Seed, Threads = s.Threads, Engine = s.Engine, Device = s.Device, TrainOnDevice = s.TrainOnDevice,
            GradientEstimator = s.Estimator, Objective = s.Objective, ValidationFraction = s.Validation,
        };
        var trainer = new VaeTrainer(modelOptions, trainerOptions);
        var train = dataset.Train.Images;
        var test = BinarizeForEvaluation(dataset.Test.Images, s.Binarization, trainerOptions.BinarizationThreshold, s.Seed);

        VaeModel model = null!;
        var clock = Stopwatch.StartNew();
        int batchesRun = 0;
        string trainingLoop = "host";
        ProgressBars().Start(ctx =>
        {
            var task = ctx.AddTask($"Training (K={s.K})", maxValue: s.Epochs);
            var progress = new SynchronousProgress<TrainingProgress>(p =>
            {
                task.Value = p.Epoch - 1 + (double)p.Batch / p.BatchesPerEpoch;
                task.Description = $"Training (K={s.K}) epoch {p.Epoch}/{p.Epochs} bound {p.Bound:F2}";
                trainingLoop = p.TrainingLoop;
                if (p.Batch == p.BatchesPerEpoch) AnsiConsole.MarkupLineInterpolated($"epoch {p.Epoch}: training bound {p.Bound:F2} nats");
            });
            model = trainer.Fit(train, progress, cancellationToken);
            task.Value = s.Epochs;
        });
        double trainSeconds = clock.Elapsed.TotalSeconds;
        int rowsPerBatch = Math.Min(s.Batch, train.Rows);
        batchesRun = model.History.Count * ((train.Rows + rowsPerBatch - 1) / rowsPerBatch);
        double msPerBatch = trainSeconds * 1000 / batchesRun;
        AnsiConsole.MarkupLineInterpolated($"Trained in {trainSeconds:F1} s ({msPerBatch:F2} ms per batch of {rowsPerBatch}, {trainingLoop} loop).");

        double? logLikelihood = null, evalSeconds = null;
        if (s.EvalSize > 0)
        {
            clock.Restart();
            float[] scores = [];
            ProgressBars().Start(ctx =>
            {
                var task = ctx.AddTask($"log p(x), K={s.EvalK}", maxValue: test.Rows);
                using var int16 = s.EvalPrecision == ScoringPrecision.Float32 ? null : model.UseScoringPrecision(s.EvalPrecision);
                scores = (int16 ?? model).LogLikelihood(test, s.EvalK, s.Seed, new SynchronousProgress<int>(done => task.Value = done), cancellationToken);
            });
            evalSeconds = clock.Elapsed.TotalSeconds;
            logLikelihood = scores.Average(v => (double)v);
            string precision = s.EvalPrecision == ScoringPrecision.Float32 ? "" : $", {s.EvalPrecision}";
            AnsiConsole.MarkupLineInterpolated($"Test log-likelihood (IWAE, K={s.EvalK}{precision}, {test.Rows} images): {logLikelihood:F2} nats, in {evalSeconds:F1} s.");
        }

        if (s.Output is not null)
        {
            model.Save(s.Output);
            AnsiConsole.MarkupLineInterpolated($"Model saved to {Path.GetFullPath(s.Output)}.");
        }
        if (s.Json is not null) WriteJson(s, dataset, trainSeconds, msPerBatch, trainingLoop, logLikelihood, evalSeconds, model);
        return 0;
    }

    private static Progress ProgressBars() =>
        AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn());

    /// <summary>Test images binarised as the training images were: by the threshold, or sampled once with a fixed seed.</summary>
    private static FeatureMatrix BinarizeForEvaluation(FeatureMatrix images, Binarization binarization, float threshold, int seed)
    {
        if (binarization == Binarization.None) return images;
        var random = new Random(seed);
        var values = new float[images.Values.Length];
        for (int i = 0; i < values.Length; i++)
            values[i] = (binarization == Binarization.Threshold ? threshold : random.NextSingle()) < images.Values[i] ? 1f : 0f;
        return new FeatureMatrix(values, images.Rows, images.Columns);
    }

    private static void WriteJson(RunSettings s, FashionMnistData dataset, double trainSeconds, double msPerBatch, string trainingLoop, double? logLikelihood, double? evalSeconds, VaeModel model)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("dataset", dataset.Folder);
            writer.WriteBoolean("bundled_subset", dataset.IsBundledSubset);
            writer.WriteNumber("train_rows", dataset.Train.Images.Rows);
            writer.WriteNumber("eval_rows", dataset.Test.Images.Rows);
            writer.WriteNumber("k", s.K);
            writer.WriteNumber("eval_k", s.EvalK);
            writer.WriteString("eval_precision", s.EvalPrecision.ToString().ToLowerInvariant());
            writer.WriteNumber("epochs", model.History.Count);
            writer.WriteNumber("batch", Math.Min(s.Batch, dataset.Train.Images.Rows));
            writer.WriteString("hidden", string.Join(",", s.Hidden));
            writer.WriteNumber("latent", s.Latent);
            writer.WriteString("training_loop", trainingLoop);
            writer.WriteString("binarize", s.Binarization.ToString().ToLowerInvariant());
            writer.WriteNumber("seed", s.Seed);
            writer.WriteString("engine", s.Engine.ToString().ToLowerInvariant());
            writer.WriteString("estimator", s.Estimator.ToString());
            writer.WriteString("objective", s.Objective.ToString());
            writer.WriteString("prior", s.Prior.ToString());
            writer.WriteNumber("threads", s.Threads > 0 ? s.Threads : Environment.ProcessorCount);
            writer.WriteNumber("train_seconds", trainSeconds);
            writer.WriteNumber("ms_per_batch", msPerBatch);
            writer.WriteNumber("final_training_bound", model.History[^1].TrainingBound);
            if (logLikelihood is { } ll) writer.WriteNumber("test_log_likelihood", ll); else writer.WriteNull("test_log_likelihood");
            if (evalSeconds is { } es) writer.WriteNumber("eval_seconds", es); else writer.WriteNull("eval_seconds");
            writer.WriteEndObject();
        }
        AtomicFile.Write(s.Json!, "JSON summary", stream.WriteTo);
    }

    private static int[] ParseWidths(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var widths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out widths[i]) || widths[i] < 1)
                throw new ArgumentException($"--hidden: '{parts[i]}' is not a positive layer width; give widths like 200,200.");
        return widths.Length > 0 ? widths : throw new ArgumentException("--hidden needs at least one layer width, like 200,200.");
    }

    private static Binarization ParseBinarization(string text) => text.ToLowerInvariant() switch
    {
        "dynamic" => Binarization.Dynamic,
        "threshold" => Binarization.Threshold,
        "none" => Binarization.None,
        _ => throw new ArgumentException($"--binarize must be dynamic, threshold or none (got '{text}')."),
    };

    private static EngineKind ParseEngine(string text) => text.ToLowerInvariant() switch
    {
        "managed" => EngineKind.Managed,
        "libtorch" => EngineKind.LibTorch,
        _ => throw new ArgumentException($"--engine must be managed or libtorch (got '{text}')."),
    };
}

/// <summary>IProgress that calls back on the reporting thread (Progress&lt;T&gt; would post to the thread pool).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
