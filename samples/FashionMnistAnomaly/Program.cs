// One-class anomaly detection on Fashion-MNIST: train on the images of one class, then flag test images of the
// other nine classes as anomalies. Writes the detector, an HTML report and prints the metrics.
//
// dotnet run -c Release --project samples/FashionMnistAnomaly -- [--normal-class 7] [--epochs 10] [--test-rows 2000]
//     [--score LatentNeighbourDistance|LikelihoodAndLatentDistance|NegativeLogLikelihood|LikelihoodRatio] [--data FOLDER] [--out out/FashionMnistAnomaly]
using FashionMnistAnomaly;
using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.Datasets;
using Microsoft.ML.Vae.Reports;
using Microsoft.ML.Vae.Samples;
using Spectre.Console;

var arguments = new SampleArguments(args);
int normalClass = arguments.Integer("normal-class", 7);
int epochs = arguments.Integer("epochs", 10);
int testRows = arguments.Integer("test-rows", 2000);
var score = Enum.Parse<AnomalyScoreKind>(arguments.Text("score", nameof(AnomalyScoreKind.LatentNeighbourDistance)), ignoreCase: true);
string? dataFolder = arguments.Text("data");
string outputFolder = Path.GetFullPath(arguments.Text("out", Path.Combine("out", "FashionMnistAnomaly")));
arguments.RejectUnknown();
if (normalClass is < 0 or > 9) throw new ArgumentException($"--normal-class must be 0 to 9 (got {normalClass}).");
FashionMnistAnomalyModel.ModelPath = Path.Combine(outputFolder, "FashionMnistAnomaly.vaead");

var data = SampleData.LoadFashionMnist(dataFolder);
string normalName = FashionMnist.ClassNames[normalClass];
var normalImages = SampleData.Rows(data.Train.Images, Enumerable.Range(0, data.Train.Images.Rows).Where(i => data.Train.Labels[i] == normalClass).ToArray());
// Every test image, or an even sample of them.
int step = Math.Max(1, data.Test.Images.Rows / Math.Max(1, testRows));
var testIndices = Enumerable.Range(0, data.Test.Images.Rows).Where(i => i % step == 0).Take(testRows).ToArray();
var testImages = SampleData.Rows(data.Test.Images, testIndices);
var isAnomaly = testIndices.Select(i => data.Test.Labels[i] != normalClass).ToArray();
AnsiConsole.MarkupLine($"Normal class: [green]{normalClass} {Markup.Escape(normalName)}[/] ({normalImages.Rows} training images); " +
                       $"{testImages.Rows} test images, {isAnomaly.Count(a => a)} of them anomalies. Score: {score}.");

var options = FashionMnistAnomalyModel.BuildOptions(epochs, score);
var (detector, scores) = ProgressBars.Run(context =>
{
    var fitted = FashionMnistAnomalyModel.Train(normalImages, options, ProgressBars.Detector(context));
    return (fitted, fitted.Score(testImages, ProgressBars.Rows(context, "Scoring the test images", testImages.Rows)));
});
using (detector)
{
    var metrics = AnomalyEvaluator.Evaluate(scores, isAnomaly, detector.Threshold, falsePositiveRate: 0.05);
    var table = new Table().AddColumns("Metric", "Value");
    foreach (var (name, value) in ReportFigures.Describe(metrics)) table.AddRow(Markup.Escape(name), Markup.Escape(value));
    AnsiConsole.Write(table);

    var report = new HtmlReport($"Fashion-MNIST one-class anomaly detection: normal = {normalName}");
    report.AddParagraph($"Trained on {normalImages.Rows} images of class {normalClass} ({normalName}) from {data.Folder}" +
                        (data.IsBundledSubset ? " (the small subset kept in the repository)" : "") +
                        $"; scored {testImages.Rows} test images, anomalies = the other nine classes. Score: {detector.ScoreKind}" +
                        (detector.ScoreKind == AnomalyScoreKind.LatentNeighbourDistance ? "." : $", K = {detector.EvaluationSampleCount}."));
    report.AddKeyValues(ReportFigures.Describe(metrics));
    report.AddFigure(ReportFigures.TrainingCurve(detector.Model.History), "The IWAE bound on the training images per epoch.");
    report.AddFigure(ReportFigures.RocCurve(metrics), "Detection rate against false-positive rate over all thresholds.");
    report.AddFigure(ReportFigures.ScoreHistogram(scores, isAnomaly, detector.Threshold), "Scores of normal and anomalous test images; the dashed line is the calibrated threshold.");
    var examples = SampleData.Rows(testImages, PickExamples(scores, isAnomaly));
    report.AddFigure(ReportFigures.Reconstructions(detector.Model, examples, 28, 28),
        "Left: the four lowest-scoring normal images; right: the four highest-scoring anomalies, with their reconstructions.");
    var embeddings = detector.Model.Embed(testImages);
    report.AddFigure(ReportFigures.LatentScatter(embeddings, testIndices.Select(i => (int)data.Test.Labels[i]).ToArray(), FashionMnist.ClassNames),
        "Posterior means of the test images, projected on their first two principal components.");
    string reportPath = Path.Combine(outputFolder, "report.html");
    report.Save(reportPath);
    AnsiConsole.MarkupLine($"Detector: {Markup.Escape(FashionMnistAnomalyModel.ModelPath)}\nReport: {Markup.Escape(reportPath)}");
}

// Consumption, as an application would use the saved detector.
var first = testIndices[0];
var output = FashionMnistAnomalyModel.Predict(new FashionMnistAnomalyModel.ModelInput { Pixels = data.Test.Images.Row(first).ToArray() });
AnsiConsole.MarkupLine($"Test image {first} ({Markup.Escape(FashionMnist.ClassNames[data.Test.Labels[first]])}): score {output.Score:F1}, anomaly: {output.PredictedLabel}.");

static int[] PickExamples(float[] scores, bool[] isAnomaly)
{
    var order = Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ToArray();
    return order.Where(i => !isAnomaly[i]).Take(4).Concat(order.Reverse().Where(i => isAnomaly[i]).Take(4)).ToArray();
}
