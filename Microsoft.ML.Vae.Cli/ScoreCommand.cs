using System.CommandLine;
using System.CommandLine.Invocation;
using System.Globalization;
using System.Text;
using Microsoft.ML.Vae.Datasets;
using Microsoft.ML.Vae.Model;
using Spectre.Console;

namespace Microsoft.ML.Vae.Cli;

/// <summary>`vae score`: loads a saved model and writes, per input row, the log-likelihood estimate and the embedding.</summary>
internal static class ScoreCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "Model file saved by --out or VaeModel.Save.") { IsRequired = true };
        var input = new Option<string>("--input", "Rows to score: an IDX image file (.gz or plain) or a CSV of numbers without a header.") { IsRequired = true };
        var evalK = new Option<int>("--eval-k", () => 5000, "Importance samples per row.");
        var seed = new Option<int>("--seed", () => 0, "Seed of the importance samples.");
        var sharedNoise = new Option<bool>("--shared-noise",
            "Every row uses the same K noise draws, so a row's score does not depend on the other rows; equals `vae export` at the same --eval-k and --seed.");
        var precision = new Option<string>("--precision", () => "float32", CommandChoices.PrecisionHelp);
        var output = new Option<string>("--out", "CSV to write: row (the input's line or image number, from 1), log_likelihood, z0..z{latent-1}.") { IsRequired = true };
        var command = new Command("score", "Scores rows with a saved model: IWAE log-likelihood and posterior-mean embedding per row.") { model, input, evalK, seed, sharedNoise, precision, output };
        command.SetHandler((InvocationContext context) =>
        {
            T Get<T>(Option<T> option) => context.ParseResult.GetValueForOption(option)!;
            CommandErrors.Run(context, OptionNames, () => Run(Get(model), Get(input), Get(evalK), Get(seed), Get(sharedNoise),
                CommandChoices.Parse("--precision", Get(precision), CommandChoices.PrecisionNames), Get(output)));
        });
        return command;
    }

    private static readonly Dictionary<string, string> OptionNames = new() { ["sampleCount"] = "--eval-k" };

    private static int Run(string modelPath, string inputPath, int evalK, int seed, bool sharedNoise, ScoringPrecision precision, string outputPath)
    {
        if (evalK < 1) throw new ArgumentException($"--eval-k must be at least 1 (got {evalK}).");
        CommandPaths.CheckInput(modelPath, "--model");
        CommandPaths.CheckInput(inputPath, "--input");
        CommandPaths.CheckOutput(outputPath, "--out");
        CommandPaths.CheckDistinct(outputPath, "--out", modelPath, "--model");
        CommandPaths.CheckDistinct(outputPath, "--out", inputPath, "--input");
        using var model = VaeModel.Load(modelPath);
        using var int16 = precision == ScoringPrecision.Float32 ? null : model.UseScoringPrecision(precision);
        var (rows, rowNumbers) = inputPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? ReadCsv(inputPath, model.InputSize) : ReadImages(inputPath, model.InputSize);
        string unit = inputPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? "line" : "image";
        InputValidation.CheckBatch(rows.Values, rows.Rows, rows.Columns, model.Options.Decoder, "--input",
            position: (r, c) => $"{inputPath}: {unit} {rowNumbers[r]}, column {c + 1}");
        var logLikelihood = new float[rows.Rows];
        (int16 ?? model).LogLikelihood(rows.Values, rows.Rows, logLikelihood, evalK, seed, sharedNoise: sharedNoise);
        var embedding = model.Embed(rows);
        var text = new StringBuilder();
        text.Append("row,log_likelihood");
        for (int d = 0; d < model.LatentSize; d++) text.Append(",z").Append(d);
        text.AppendLine();
        for (int r = 0; r < rows.Rows; r++)
        {
            text.Append(rowNumbers[r]).Append(',').Append(logLikelihood[r].ToString("R", CultureInfo.InvariantCulture));
            foreach (float z in embedding.Row(r)) text.Append(',').Append(z.ToString("R", CultureInfo.InvariantCulture));
            text.AppendLine();
        }
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        AtomicFile.Write(outputPath, "scores", file => file.Write(bytes));
        AnsiConsole.MarkupLineInterpolated($"Scored {rows.Rows} rows (K={evalK}{(sharedNoise ? ", shared noise" : "")}{(precision == ScoringPrecision.Float32 ? "" : $", {precision}")}) into {outputPath}.");
        return 0;
    }

    /// <summary>The images, numbered from 1 as in every message.</summary>
    private static (FeatureMatrix Rows, int[] Numbers) ReadImages(string path, int features)
    {
        var images = IdxReader.ReadImages(path);
        if (images.Columns != features)
            throw new InvalidDataException($"{path}: the images have {images.Columns} pixels but the model takes {features} features.");
        return (images, Enumerable.Range(1, images.Rows).ToArray());
    }

    /// <summary>The non-blank lines of a headerless numeric CSV, each with the line number (from 1) messages and the output use.</summary>
    private static (FeatureMatrix Rows, int[] Numbers) ReadCsv(string path, int features)
    {
        var rows = new List<float[]>();
        var numbers = new List<int>();
        int line = 0;
        foreach (string text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var cells = text.Split(',');
            if (cells.Length != features)
                throw new FormatException($"{path}: line {line} has {cells.Length} values but the model takes {features} features.");
            var row = new float[cells.Length];
            for (int c = 0; c < cells.Length; c++)
                if (!float.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out row[c]))
                    throw new FormatException($"{path}: line {line}, column {c + 1} ('{cells[c]}') is not a number.");
            rows.Add(row);
            numbers.Add(line);
        }
        if (rows.Count == 0) throw new FormatException($"{path} holds no rows.");
        return (FeatureMatrix.FromRows(rows), numbers.ToArray());
    }
}
