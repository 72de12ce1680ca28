using System.Globalization;

namespace Microsoft.ML.Vae.TabularAnomalyBench;

/// <summary>Command-line settings of the benchmark.</summary>
internal sealed record BenchArguments(string[] DataSets, int[] Seeds, int Rows, int TestNormalRows, int AnomaliesPerKind, DetectorSettings[] Candidates, string? OutputFile, string[] CandidateTexts, bool Oracle = true)
{
    public static BenchArguments Parse(string[] args)
    {
        var result = new BenchArguments([.. SyntheticData.Names, "pump"], [1, 2, 3], 4000, 2000, 100, [], null, []);
        var candidates = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string option = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{option} needs a value.");
            int Integer(string text) => int.TryParse(text, CultureInfo.InvariantCulture, out int n) && n > 0 ? n
                : throw new ArgumentException($"{option} takes positive whole numbers; '{text}' is not one.");
            int[] Integers() => Value().Split(',').Select(Integer).ToArray();
            switch (option)
            {
                case "--datasets": result = result with { DataSets = DataSetNames(Value()) }; break;
                case "--seeds": result = result with { Seeds = Integers() }; break;
                case "--rows": result = result with { Rows = Integer(Value()) }; break;
                case "--test-normal": result = result with { TestNormalRows = Integer(Value()) }; break;
                case "--anomalies": result = result with { AnomaliesPerKind = Integer(Value()) }; break;
                case "--candidate": candidates.Add(Value()); break;
                case "--out": result = result with { OutputFile = Value() }; break;
                case "--oracle": result = result with { Oracle = bool.TryParse(Value(), out bool oracle) ? oracle : throw new ArgumentException($"{option} takes true or false.") }; break;
                default: throw new ArgumentException($"Unknown option {args[i]}; see the comment at the top of Program.cs.");
            }
        }
        if (candidates.Count == 0) candidates = ["core", ""];
        return result with { Candidates = candidates.Select(DetectorSettings.Parse).ToArray(), CandidateTexts = candidates.ToArray() };
    }

    private static string[] DataSetNames(string text)
    {
        string[] known = [.. SyntheticData.Names, "pump"];
        var names = text.Split(',');
        var unknown = names.FirstOrDefault(n => !known.Contains(n));
        return unknown is null ? names : throw new ArgumentException($"--datasets: unknown data set '{unknown}'; known: {string.Join(", ", known)}.");
    }

    public override string ToString() =>
        $"--datasets {string.Join(",", DataSets)} --seeds {string.Join(",", Seeds)} --rows {Rows} --test-normal {TestNormalRows} --anomalies {AnomaliesPerKind} " + (Oracle ? "" : "--oracle false ") +
        string.Join(" ", CandidateTexts.Select(c => $"--candidate \"{c}\""));
}
