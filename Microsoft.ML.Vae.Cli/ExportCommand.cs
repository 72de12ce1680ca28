using System.CommandLine;
using System.CommandLine.Invocation;
using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.Model;
using Microsoft.ML.Vae.Onnx;
using Spectre.Console;

namespace Microsoft.ML.Vae.Cli;

/// <summary>`vae export`: writes a saved model or anomaly detector as an ONNX graph (docs/onnx.md).</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "Model file (saved by --out or VaeModel.Save) or anomaly detector file (VaeAnomalyDetector.Save).") { IsRequired = true };
        var output = new Option<string>("--out", "ONNX file to write.") { IsRequired = true };
        var evalK = new Option<int>("--eval-k", () => new OnnxExportOptions().LogLikelihoodSampleCount,
            "Importance samples (K) of the graph's log-likelihood; `vae score --shared-noise` at the same K and seed gives the same numbers.");
        var seed = new Option<int>("--seed", () => 0, "Seed of the K noise draws stored in the graph.");
        var command = new Command("export", "Writes a saved model or anomaly detector as an ONNX graph for ONNX Runtime, ML.NET or Python.") { model, output, evalK, seed };
        command.SetHandler((InvocationContext context) =>
        {
            T Get<T>(Option<T> option) => context.ParseResult.GetValueForOption(option)!;
            CommandErrors.Run(context, OptionNames, () => Run(Get(model), Get(output), Get(evalK), Get(seed)));
        });
        return command;
    }

    private static readonly Dictionary<string, string> OptionNames = new()
    {
        [nameof(OnnxExportOptions.LogLikelihoodSampleCount)] = "--eval-k", ["sampleCount"] = "--eval-k", [nameof(OnnxExportOptions.Seed)] = "--seed",
    };

    private static int Run(string modelPath, string outputPath, int evalK, int seed)
    {
        CommandPaths.CheckInput(modelPath, "--model");
        CommandPaths.CheckOutput(outputPath, "--out");
        CommandPaths.CheckDistinct(outputPath, "--out", modelPath, "--model");
        var options = new OnnxExportOptions { LogLikelihoodSampleCount = evalK, Seed = seed };
        string kind;
        if (IsDetectorFile(modelPath))
        {
            using var detector = VaeAnomalyDetector.Load(modelPath);
            detector.ExportOnnx(outputPath, options);
            kind = "anomaly detector";
        }
        else
        {
            using var vae = VaeModel.Load(modelPath);
            vae.ExportOnnx(outputPath, options);
            kind = "model";
        }
        AnsiConsole.MarkupLineInterpolated($"Exported the {kind} {modelPath} (K={evalK}, seed {seed}) to {Path.GetFullPath(outputPath)}.");
        return 0;
    }

    /// <summary>A detector file by its header; anything else is read as a model file, whose loader explains what is wrong.</summary>
    private static bool IsDetectorFile(string path)
    {
        var header = new byte[VaeAnomalyDetectorSerializer.HeaderLength];
        using var file = File.OpenRead(path);
        return file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) == header.Length && VaeAnomalyDetectorSerializer.HasHeader(header);
    }
}
