// One-class Fashion-MNIST benchmark: for each class, fit a detector on that class's training images, score all
// 10,000 test images (anomalies = the other nine classes) and report AUROC, next to a 20-component PCA
// reconstruction-error baseline fitted on the same images in the same run.
//
// dotnet run -c Release --project eng/bench/AnomalyBench -- [--classes 0,1,...] [--epochs 20] [--train-k 5]
//     [--eval-k 100] [--score LatentNeighbourDistance] [--decoder Gaussian] [--threads 0] [--engine Managed|LibTorch]
//     [--raw true (also score with -log p(x) alone)] [--neighbours 5] [--seed 1] [--prior Standard|LearnedGaussian|Vamp]
//     [--pseudo-inputs 500] [--decoder-variance 0.135 (e^-2)] [--init Glorot|FanInUniform] [--ensemble 1] [--data FOLDER] [--out FILE.md]
//     [--int16 true (also score with a ScoringPrecision.Int16 copy of the detector: its AUROC, seconds, changed verdicts)]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.Datasets;

var arguments = BenchArguments.Parse(args);
var data = FashionMnist.Load(arguments.DataFolder);
Console.WriteLine($"Fashion-MNIST from {data.Folder}{(data.IsBundledSubset ? " (bundled subset: numbers are not comparable with the full protocol)" : "")}: " +
                  $"{data.Train.Images.Rows} training, {data.Test.Images.Rows} test images; {Environment.ProcessorCount} cores.");
Console.WriteLine($"Settings: {arguments}");

var table = new StringBuilder();
table.AppendLine("| class | PCA-20 error | VAE -log p(x) | VAE " + arguments.Score + " | PCA s | train s | score s |" +
    (arguments.Int16 ? " int16 AUROC | int16 score s | verdicts changed |" : ""));
table.AppendLine("|---|---|---|---|---|---|---|" + (arguments.Int16 ? "---|---|---|" : ""));
var pcaResults = new List<double>();
var rawResults = new List<double>();
var detectorResults = new List<double>();
foreach (int c in arguments.Classes)
{
    var normal = Select(data.Train.Images, data.Train.Labels, c);
    var isAnomaly = data.Test.Labels.Select(label => label != c).ToArray();

    var clock = Stopwatch.StartNew();
    var pca = PrincipalComponents.Fit(normal, 20);
    double pcaAuroc = Auroc(pca.ReconstructionError(data.Test.Images), isAnomaly);

    double pcaSeconds = clock.Elapsed.TotalSeconds;
    clock.Restart();
    using var detector = new VaeAnomalyTrainer(arguments.DetectorOptions()).Fit(normal);
    double trainSeconds = clock.Elapsed.TotalSeconds;
    clock.Restart();
    var scores = detector.Score(data.Test.Images);
    double scoreSeconds = clock.Elapsed.TotalSeconds;
    double detectorAuroc = Auroc(scores, isAnomaly);
    // The raw likelihood of the same model, to show what the score kind adds (a second scoring pass, so optional).
    double rawAuroc = double.NaN;
    if (arguments.Raw)
        rawAuroc = Auroc(detector.Model.LogLikelihood(data.Test.Images, detector.EvaluationSampleCount, detector.ScoringSeed).Select(v => -v).ToArray(), isAnomaly);

    string int16Columns = "";
    if (arguments.Int16)
    {
        using var int16 = detector.UseScoringPrecision(ScoringPrecision.Int16);
        clock.Restart();
        var int16Scores = int16.Score(data.Test.Images);
        double int16Seconds = clock.Elapsed.TotalSeconds;
        int changed = scores.Zip(int16Scores).Count(p => (p.First > detector.Threshold) != (p.Second > detector.Threshold));
        int16Columns = $" {Auroc(int16Scores, isAnomaly):F3} | {int16Seconds:F1} | {changed} |";
    }

    pcaResults.Add(pcaAuroc);
    rawResults.Add(rawAuroc);
    detectorResults.Add(detectorAuroc);
    string line = $"| {c} {FashionMnist.ClassNames[c]} | {pcaAuroc:F3} | {rawAuroc:F3} | {detectorAuroc:F3} | {pcaSeconds:F0} | {trainSeconds:F0} | {(arguments.Int16 ? $"{scoreSeconds:F1}" : $"{scoreSeconds:F0}")} |{int16Columns}";
    table.AppendLine(line);
    Console.WriteLine(line);
}
string mean = $"| mean | {pcaResults.Average():F4} | {rawResults.Average():F4} | **{detectorResults.Average():F4}** | | | |";
table.AppendLine(mean);
Console.WriteLine(mean);
int beaten = detectorResults.Zip(pcaResults).Count(p => p.First > p.Second);
Console.WriteLine($"Classes above the PCA baseline: {beaten} of {detectorResults.Count}.");
if (arguments.OutputFile is { } output)
{
    File.WriteAllText(output, $"Settings: {arguments}\n\n{table}\nClasses above the PCA baseline: {beaten} of {detectorResults.Count}.\n");
    Console.WriteLine($"Table written to {output}");
}

static FeatureMatrix Select(FeatureMatrix images, byte[] labels, int label)
{
    var rows = Enumerable.Range(0, images.Rows).Where(i => labels[i] == label).ToArray();
    var values = new float[rows.Length * images.Columns];
    for (int i = 0; i < rows.Length; i++) images.Row(rows[i]).CopyTo(values.AsSpan(i * images.Columns));
    return new FeatureMatrix(values, rows.Length, images.Columns);
}

static double Auroc(float[] scores, bool[] isAnomaly) => AnomalyEvaluator.Evaluate(scores, isAnomaly, threshold: 0).AreaUnderRocCurve;

/// <summary>Command-line settings of the benchmark.</summary>
internal sealed record BenchArguments(int[] Classes, int Epochs, int TrainK, int EvalK, AnomalyScoreKind Score, DecoderKind Decoder,
    int Threads, EngineKind Engine, bool Raw, string? DataFolder, string? OutputFile, int Neighbours = 5, int Seed = 1,
    PriorKind Prior = PriorKind.Standard, int PseudoInputs = 500, float? DecoderVariance = null,
    WeightInitialization Initialization = WeightInitialization.Glorot, int Ensemble = 1, bool Int16 = false)
{
    public static BenchArguments Parse(string[] args)
    {
        var result = new BenchArguments(Enumerable.Range(0, 10).ToArray(), 20, 5, 100, AnomalyScoreKind.LatentNeighbourDistance, DecoderKind.Gaussian, 0, EngineKind.Managed, false, null, null);
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            result = args[i] switch
            {
                "--classes" => result with { Classes = Value().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() },
                "--epochs" => result with { Epochs = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--train-k" => result with { TrainK = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--eval-k" => result with { EvalK = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--score" => result with { Score = Enum.Parse<AnomalyScoreKind>(Value(), ignoreCase: true) },
                "--decoder" => result with { Decoder = Enum.Parse<DecoderKind>(Value(), ignoreCase: true) },
                "--threads" => result with { Threads = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--engine" => result with { Engine = Enum.Parse<EngineKind>(Value(), ignoreCase: true) },
                "--raw" => result with { Raw = bool.Parse(Value()) },
                "--data" => result with { DataFolder = Value() },
                "--out" => result with { OutputFile = Value() },
                "--neighbours" => result with { Neighbours = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--seed" => result with { Seed = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--decoder-variance" => result with { DecoderVariance = float.Parse(Value(), CultureInfo.InvariantCulture) },
                "--ensemble" => result with { Ensemble = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--init" => result with { Initialization = Enum.Parse<WeightInitialization>(Value(), ignoreCase: true) },
                "--prior" => result with { Prior = Enum.Parse<PriorKind>(Value(), ignoreCase: true) },
                "--int16" => result with { Int16 = bool.Parse(Value()) },
                "--pseudo-inputs" => result with { PseudoInputs = int.Parse(Value(), CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"Unknown option {args[i]}; see the comment at the top of Program.cs."),
            };
        }
        return result;
    }

    /// <summary>The Gaussian decoder's initial variance: e^-2 unless --decoder-variance says otherwise.</summary>
    private float ResolvedDecoderVariance => DecoderVariance ?? MathF.Exp(-2);

    /// <summary>The 784-200-200-50 tanh model; the Gaussian decoder learns one variance per pixel, starting at e^-2 by default.</summary>
    public VaeAnomalyDetectorOptions DetectorOptions() => new()
    {
        Model = new VaeModelOptions
        {
            Decoder = Decoder, LearnDecoderVariance = Decoder == DecoderKind.Gaussian, DecoderVariance = ResolvedDecoderVariance,
            Prior = Prior, PseudoInputCount = PseudoInputs,
        },
        Trainer = new VaeTrainerOptions { Epochs = Epochs, SampleCount = TrainK, Threads = Threads, Seed = Seed, Engine = Engine, Initialization = Initialization },
        Score = Score,
        EvaluationSampleCount = EvalK,
        TargetFalsePositiveRate = 0.05,
        NeighbourCount = Neighbours,
        EnsembleSize = Ensemble,
    };

    public override string ToString() =>
        $"classes {string.Join(",", Classes)}, epochs {Epochs}, train K {TrainK}, eval K {EvalK}, score {Score}, decoder {Decoder} (initial variance {ResolvedDecoderVariance:G3}), init {Initialization}, threads {(Threads == 0 ? "all" : Threads)}, engine {Engine}, neighbours {Neighbours}, ensemble {Ensemble}, seed {Seed}, prior {Prior}{(Prior == PriorKind.Vamp ? $" ({PseudoInputs} pseudo-inputs)" : "")}";
}
