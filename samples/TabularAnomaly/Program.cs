// Tabular anomaly detection: a pump's sensor readings (samples/TabularAnomaly/data/sensors.csv, synthetic, with
// labelled anomalies). Trains on the first 70% of the rows as they come (anomalies included), scores the rest and
// evaluates against the is_anomaly column.
//
// dotnet run -c Release --project samples/TabularAnomaly -- [--epochs 40] [--csv FILE] [--out out/TabularAnomaly]
using System.Globalization;
using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.Reports;
using Microsoft.ML.Vae.Samples;
using Spectre.Console;
using TabularAnomaly;

var arguments = new SampleArguments(args);
int epochs = arguments.Integer("epochs", 40);
string csvPath = arguments.Text("csv", Path.Combine(AppContext.BaseDirectory, "data", "sensors.csv"));
string outputFolder = Path.GetFullPath(arguments.Text("out", Path.Combine("out", "TabularAnomaly")));
arguments.RejectUnknown();
TabularAnomalyModel.ModelPath = Path.Combine(outputFolder, "TabularAnomaly.vaead");

var rows = TabularAnomalyModel.LoadRows(csvPath);
int split = (int)(rows.Count * 0.7);
var training = rows.Take(split).ToList();
var test = rows.Skip(split).ToList();
double contamination = Math.Max(0.005, training.Average(r => r.IsAnomaly));
AnsiConsole.MarkupLine($"{rows.Count} rows from {Markup.Escape(csvPath)}: training on {training.Count} " +
                       $"({contamination:P1} anomalies, left in), testing on {test.Count} ({test.Count(r => r.IsAnomaly == 1)} anomalies).");

var testFeatures = TabularAnomalyModel.ToFeatures(test);
var (detector, scores) = ProgressBars.Run(context =>
{
    var fitted = TabularAnomalyModel.Train(training, TabularAnomalyModel.BuildOptions(epochs, contamination), ProgressBars.Detector(context));
    return (fitted, fitted.Score(testFeatures, ProgressBars.Rows(context, "Scoring the test rows", test.Count)));
});
using (detector)
{
    var isAnomaly = test.Select(r => r.IsAnomaly == 1).ToArray();
    var metrics = AnomalyEvaluator.Evaluate(scores, isAnomaly, detector.Threshold, falsePositiveRate: 0.01);
    var table = new Table().AddColumns("Metric", "Value");
    foreach (var (name, value) in ReportFigures.Describe(metrics)) table.AddRow(Markup.Escape(name), Markup.Escape(value));
    AnsiConsole.Write(table);
    var byType = test.Select((r, i) => (r.AnomalyType, Flagged: scores[i] > detector.Threshold))
        .GroupBy(t => t.AnomalyType).OrderBy(g => g.Key)
        .Select(g => (IReadOnlyList<string>)[g.Key, g.Count().ToString(CultureInfo.InvariantCulture), (g.Count(t => t.Flagged) / (double)g.Count()).ToString("P0", CultureInfo.InvariantCulture)])
        .ToList();
    var typeTable = new Table().AddColumns("Row type", "Rows", "Flagged");
    foreach (var row in byType) typeTable.AddRow(row.Select(Markup.Escape).ToArray());
    AnsiConsole.Write(typeTable);

    var report = new HtmlReport("Pump sensors: tabular anomaly detection");
    report.AddParagraph($"Trained on {training.Count} rows (anomalies left in; contamination {contamination:P1} sets the threshold), " +
                        $"features standardised; {test.Count} later rows scored. Score: -log p(x), IWAE with K = {detector.EvaluationSampleCount}.");
    report.AddKeyValues(ReportFigures.Describe(metrics));
    report.AddTable(["Row type", "Rows", "Flagged at the threshold"], byType);
    report.AddFigure(ReportFigures.TrainingCurve(detector.Model.History), "The IWAE bound on the (standardised) training rows per epoch.");
    report.AddFigure(ReportFigures.RocCurve(metrics), "Detection rate against false-positive rate on the test rows.");
    report.AddFigure(ReportFigures.ScoreHistogram(scores, isAnomaly, detector.Threshold), "Scores of normal and anomalous test rows; the dashed line is the threshold.");
    var embeddings = detector.Model.Embed(detector.ScaleFeatures(testFeatures));
    report.AddFigure(ReportFigures.LatentScatter(embeddings, isAnomaly.Select(a => a ? 1 : 0).ToArray(), ["normal", "anomaly"]),
        "Posterior means of the test rows (first two principal components).");
    string reportPath = Path.Combine(outputFolder, "report.html");
    report.Save(reportPath);
    AnsiConsole.MarkupLine($"Detector: {Markup.Escape(TabularAnomalyModel.ModelPath)}\nReport: {Markup.Escape(reportPath)}");
}

var example = test.First(r => r.IsAnomaly == 1);
var output = TabularAnomalyModel.Predict(example);
AnsiConsole.MarkupLine($"Minute {example.Minute} ({Markup.Escape(example.AnomalyType)}): score {output.Score:F2}, anomaly: {output.PredictedLabel}.");
