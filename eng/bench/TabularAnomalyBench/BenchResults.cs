using System.Globalization;
using System.Text;
using Microsoft.ML.Vae.Anomaly;

namespace Microsoft.ML.Vae.TabularAnomalyBench;

/// <summary>AUROC, detection rate at 5% false positives, AUROC per anomaly kind and training time of every run, and the Markdown tables of them.</summary>
internal sealed class BenchResults
{
    public const string RandomizedPca = "RandomizedPca", Pca = "PCA";
    private const double FalsePositiveRate = 0.05;

    private sealed record Run(double Auroc, double DetectionRate, Dictionary<string, double> AurocByKind, double Seconds);

    private readonly List<string> _dataSets = [];
    private readonly List<string> _methods = [];
    private readonly Dictionary<(string DataSet, string Method), List<Run>> _runs = [];

    public void Add(TabularDataSet data, string method, (float[] Scores, double Seconds) result)
    {
        if (!_dataSets.Contains(data.Name)) _dataSets.Add(data.Name);
        if (!_methods.Contains(method)) _methods.Add(method);
        var isAnomaly = data.IsAnomaly;
        var metrics = AnomalyEvaluator.Evaluate(result.Scores, isAnomaly, threshold: 0, falsePositiveRate: FalsePositiveRate);
        var byKind = data.AnomalyKinds.ToDictionary(kind => kind, kind =>
        {
            var rows = Enumerable.Range(0, data.TestKinds.Length).Where(i => data.TestKinds[i] == kind || !isAnomaly[i]).ToArray();
            return Auroc(rows.Select(i => result.Scores[i]).ToArray(), rows.Select(i => isAnomaly[i]).ToArray());
        });
        var key = (data.Name, method);
        if (!_runs.TryGetValue(key, out var list)) _runs[key] = list = [];
        list.Add(new Run(metrics.AreaUnderRocCurve, metrics.DetectionRateAtFalsePositiveRate, byKind, result.Seconds));
    }

    public static double Auroc(float[] scores, bool[] isAnomaly) => AnomalyEvaluator.Evaluate(scores, isAnomaly, threshold: 0).AreaUnderRocCurve;

    public string Format(int seedCount)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"AUROC, mean ± standard deviation over {seedCount} seed(s), and (after /) the detection rate at {FalsePositiveRate:P0} false positives:");
        text.AppendLine();
        text.AppendLine("| method | " + string.Join(" | ", _dataSets) + " |");
        text.AppendLine("|---|" + string.Concat(_dataSets.Select(_ => "---|")));
        foreach (var method in _methods)
            text.AppendLine($"| {method} | " + string.Join(" | ", _dataSets.Select(d => Cell(d, method, r => r.Auroc, r => r.DetectionRate))) + " |");
        text.AppendLine();
        text.AppendLine("AUROC per anomaly kind (each kind against the normal test rows), mean over seeds:");
        text.AppendLine();
        text.AppendLine("| data set | method | AUROC per kind |");
        text.AppendLine("|---|---|---|");
        foreach (var dataSet in _dataSets)
            foreach (var method in _methods.Where(m => _runs.ContainsKey((dataSet, m))))
            {
                var runs = _runs[(dataSet, method)];
                text.AppendLine($"| {dataSet} | {method} | " + string.Join(", ", runs[0].AurocByKind.Keys.Select(k => $"{k} {runs.Average(r => r.AurocByKind[k]):F3}")) + " |");
            }
        text.AppendLine();
        text.AppendLine("Seconds to train and score (mean over seeds; shared machine, indicative only):");
        text.AppendLine();
        text.AppendLine("| method | " + string.Join(" | ", _dataSets) + " |");
        text.AppendLine("|---|" + string.Concat(_dataSets.Select(_ => "---|")));
        foreach (var method in _methods.Where(m => m.StartsWith("IWAE", StringComparison.Ordinal) || m == RandomizedPca))
            text.AppendLine($"| {method} | " + string.Join(" | ", _dataSets.Select(d => _runs.TryGetValue((d, method), out var runs) ? runs.Average(r => r.Seconds).ToString("F1", CultureInfo.InvariantCulture) : "")) + " |");
        text.AppendLine();
        foreach (var method in _methods.Where(m => m.StartsWith("IWAE", StringComparison.Ordinal)))
        {
            int dataSetsWon = _dataSets.Count(d => BeatsBaselines(d, method, r => r.Average(x => x.Auroc)));
            int runsWon = _dataSets.Sum(d => Enumerable.Range(0, _runs[(d, method)].Count).Count(i => BeatsBaselines(d, method, r => r[i].Auroc)));
            int runCount = _dataSets.Sum(d => _runs[(d, method)].Count);
            text.AppendLine($"{method}: mean AUROC above both baselines on {dataSetsWon} of {_dataSets.Count} data sets; on {runsWon} of {runCount} single seeds.");
        }
        return text.ToString();
    }

    private bool BeatsBaselines(string dataSet, string method, Func<List<Run>, double> auroc) =>
        auroc(_runs[(dataSet, method)]) > auroc(_runs[(dataSet, RandomizedPca)]) && auroc(_runs[(dataSet, method)]) > auroc(_runs[(dataSet, Pca)]);

    private string Cell(string dataSet, string method, Func<Run, double> value, Func<Run, double> detectionRate)
    {
        if (!_runs.TryGetValue((dataSet, method), out var runs)) return "";
        var values = runs.Select(value).ToArray();
        double mean = values.Average();
        double spread = values.Length > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1)) : 0;
        return string.Create(CultureInfo.InvariantCulture, $"{mean:F3} ± {spread:F3} / {runs.Average(detectionRate):P0}");
    }
}
