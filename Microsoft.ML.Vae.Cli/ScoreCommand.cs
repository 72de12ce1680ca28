using System.CommandLine;
using System.CommandLine.Invocation;
using System.Globalization;
using System.Text;
using Microsoft.ML.Vae.Datasets;
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
        var output = new Option<string>("--out", "CSV to write: row, log_likelihood, z0..z{latent-1}.") { IsRequired = true };
        var command = new Command("score", "Scores rows with a saved model: IWAE log-likelihood and posterior-mean embedding per row.") { model, input, evalK, seed, output };
        command.SetHandler((InvocationContext context) =>
        {
            T Get<T>(Option<T> option) => context.ParseResult.GetValueForOption(option)!;
            try { context.ExitCode = Run(Get(model), Get(input), Get(evalK), Get(seed), Get(output)); }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or FormatException)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
                context.ExitCode = 2;
            }
        });
        return command;
    }

    private static int Run(string modelPath, string inputPath, int evalK, int seed, string outputPath)
    {
        var model = VaeModel.Load(modelPath);
        var rows = inputPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? ReadCsv(inputPath) : IdxReader.ReadImages(inputPath);
        var logLikelihood = model.LogLikelihood(rows, evalK, seed);
        var embedding = model.Embed(rows);
        var text = new StringBuilder();
        text.Append("row,log_likelihood");
        for (int d = 0; d < model.LatentSize; d++) text.Append(",z").Append(d);
        text.AppendLine();
        for (int r = 0; r < rows.Rows; r++)
        {
            text.Append(r).Append(',').Append(logLikelihood[r].ToString("R", CultureInfo.InvariantCulture));
            foreach (float z in embedding.Row(r)) text.Append(',').Append(z.ToString("R", CultureInfo.InvariantCulture));
            text.AppendLine();
        }
        File.WriteAllText(outputPath, text.ToString());
        AnsiConsole.MarkupLineInterpolated($"Scored {rows.Rows} rows (K={evalK}) into {outputPath}.");
        return 0;
    }

    private static FeatureMatrix ReadCsv(string path)
    {
        var rows = new List<float[]>();
        int line = 0;
        foreach (string text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var cells = text.Split(',');
            var row = new float[cells.Length];
            for (int c = 0; c < cells.Length; c++)
                if (!float.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out row[c]))
                    throw new FormatException($"{path}: line {line}, column {c + 1} ('{cells[c]}') is not a number.");
            rows.Add(row);
        }
        return FeatureMatrix.FromRows(rows);
    }
}
