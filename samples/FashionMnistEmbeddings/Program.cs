// Fashion-MNIST embeddings: train a VAE, embed the test images, write the embeddings as CSV and an HTML report with
// the training curve, reconstructions and a 2D map of the latent space.
//
// dotnet run -c Release --project samples/FashionMnistEmbeddings -- [--epochs 10] [--train-rows 10000]
//     [--test-rows 2000] [--data FOLDER] [--out out/FashionMnistEmbeddings]
using System.Globalization;
using System.Text;
using FashionMnistEmbeddings;
using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Datasets;
using Microsoft.ML.Vae.Reports;
using Microsoft.ML.Vae.Samples;
using Spectre.Console;

var arguments = new SampleArguments(args);
int epochs = arguments.Integer("epochs", 10);
int trainRows = arguments.Integer("train-rows", 10000);
int testRows = arguments.Integer("test-rows", 2000);
string? dataFolder = arguments.Text("data");
string outputFolder = Path.GetFullPath(arguments.Text("out", Path.Combine("out", "FashionMnistEmbeddings")));
arguments.RejectUnknown();
FashionMnistEmbeddingsModel.ModelPath = Path.Combine(outputFolder, "FashionMnistEmbeddings.vae");

var data = SampleData.LoadFashionMnist(dataFolder);
var train = SampleData.Rows(data.Train.Images, Enumerable.Range(0, Math.Min(trainRows, data.Train.Images.Rows)).ToArray());
var testIndices = Enumerable.Range(0, Math.Min(testRows, data.Test.Images.Rows)).ToArray();
var test = SampleData.Rows(data.Test.Images, testIndices);
var testLabels = testIndices.Select(i => (int)data.Test.Labels[i]).ToArray();

var (model, embeddings, logLikelihood) = ProgressBars.Run(context =>
{
    var trained = FashionMnistEmbeddingsModel.Train(train, epochs, ProgressBars.Training(context, "Training"));
    var embedded = trained.Embed(test);
    var likelihood = trained.LogLikelihood(test, sampleCount: 50, rowsDone: ProgressBars.Rows(context, "Estimating log p(x) of the test images", test.Rows));
    return (trained, embedded, likelihood);
});
using (model)
{
    AnsiConsole.MarkupLine($"Mean test log-likelihood (IWAE, K = 50): [green]{logLikelihood.Average():F2}[/] nats over {test.Rows} images.");
    Directory.CreateDirectory(outputFolder);
    string csvPath = Path.Combine(outputFolder, "embeddings.csv");
    WriteEmbeddings(csvPath, testIndices, testLabels, embeddings, logLikelihood);

    var report = new HtmlReport("Fashion-MNIST embeddings");
    report.AddParagraph($"VAE trained for {model.History.Count} epochs on {train.Rows} images from {data.Folder}" +
                        (data.IsBundledSubset ? " (the small subset kept in the repository)" : "") +
                        $"; {test.Rows} test images embedded. Mean test log-likelihood {logLikelihood.Average():F2} nats (IWAE, K = 50).");
    report.AddFigure(ReportFigures.TrainingCurve(model.History), "Training and validation IWAE bound per epoch.");
    report.AddFigure(ReportFigures.LatentScatter(embeddings, testLabels, FashionMnist.ClassNames),
        "Posterior means of the test images on their first two principal components, coloured by class.");
    report.AddFigure(ReportFigures.Reconstructions(model, SampleData.Rows(test, FirstOfEachClass(testLabels)), 28, 28),
        "One test image per class (top) and its reconstruction (bottom).");
    string reportPath = Path.Combine(outputFolder, "report.html");
    report.Save(reportPath);
    AnsiConsole.MarkupLine($"Model: {Markup.Escape(FashionMnistEmbeddingsModel.ModelPath)}\nEmbeddings: {Markup.Escape(csvPath)}\nReport: {Markup.Escape(reportPath)}");
}

var output = FashionMnistEmbeddingsModel.Predict(new FashionMnistEmbeddingsModel.ModelInput { Pixels = test.Row(0).ToArray() });
AnsiConsole.WriteLine($"Test image 0 ({FashionMnist.ClassNames[testLabels[0]]}): embedding [{string.Join(", ", output.Embedding.Take(4).Select(v => v.ToString("F2", CultureInfo.InvariantCulture)))}, ...], log p(x) ≈ {output.LogLikelihood:F1}.");

static void WriteEmbeddings(string path, int[] indices, int[] labels, FeatureMatrix embeddings, float[] logLikelihood)
{
    var csv = new StringBuilder();
    csv.Append("index,label,class,log_likelihood");
    for (int d = 0; d < embeddings.Columns; d++) csv.Append(",z").Append(d);
    csv.AppendLine();
    for (int r = 0; r < embeddings.Rows; r++)
    {
        csv.Append(indices[r]).Append(',').Append(labels[r]).Append(',').Append(FashionMnist.ClassNames[labels[r]].Replace('/', '-'))
           .Append(',').Append(logLikelihood[r].ToString("R", CultureInfo.InvariantCulture));
        foreach (float v in embeddings.Row(r)) csv.Append(',').Append(v.ToString("R", CultureInfo.InvariantCulture));
        csv.AppendLine();
    }
    File.WriteAllText(path, csv.ToString());
}

static int[] FirstOfEachClass(int[] labels) =>
    Enumerable.Range(0, 10).Select(c => Array.IndexOf(labels, c)).Where(i => i >= 0).ToArray();
