// Tabular anomaly benchmark: the IWAE detector against ML.NET's RandomizedPca (after NormalizeMinMax) and the core's
// PCA reconstruction-error baseline (on standardised features), on synthetic sensor data with known structure and
// on the TabularAnomaly sample's pump data. Trains on normal rows only; reports AUROC and the detection rate at 5%
// false positives per data set, as mean ± standard deviation over seeds (each seed draws new synthetic data and
// trains new models). Results and the recommended settings: docs/tabular-anomaly.md.
//
// dotnet run -c Release --project eng/bench/TabularAnomalyBench -- [--datasets linear,nonlinear,hourly,wide,wide200,pump]
//     [--seeds 1,2,3] [--rows 4000] [--test-normal 2000] [--anomalies 100] [--candidate "KEY=VALUE,..."]...
//     [--oracle false (skip the best-rank PCA, slow on large data)] [--out FILE.md]
// Each --candidate is one detector configuration (DetectorSettings.cs): "" is the recommended one, "core" the core
// defaults (with MinMax scaling), "latent=4,epochs=10" the recommended one with those changes. Default: "core" and "".
using System.Diagnostics;
using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.TabularAnomalyBench;

BenchArguments arguments;
try
{
    arguments = BenchArguments.Parse(args);
}
catch (ArgumentException e)
{
    // Option mistakes (and invalid detector options, whose Validate names the option) as one line, without a stack trace.
    Console.Error.WriteLine(e.Message);
    return 2;
}
Console.WriteLine($"{Environment.ProcessorCount} cores; {arguments}");
var results = new BenchResults();
foreach (var name in arguments.DataSets)
{
    foreach (int seed in arguments.Seeds)
    {
        var data = name == "pump"
            ? PumpData.Load(Path.Combine(AppContext.BaseDirectory, "data", "sensors.csv"))
            : SyntheticData.Generate(name, seed, arguments.Rows, arguments.TestNormalRows, arguments.AnomaliesPerKind);
        if (seed == arguments.Seeds[0])
            Console.WriteLine($"{data.Name}: {data.Description}; test {data.Test.Rows} rows ({string.Join(", ", data.AnomalyKinds.Select(k => $"{data.TestKinds.Count(t => t == k)} {k}"))}); PCA rank {data.Rank}");
        int rank = Math.Min(data.Rank, data.Train.Columns - 1);

        results.Add(data, BenchResults.RandomizedPca, Timed(() => RandomizedPcaBaseline.Score(data.Train, data.Test, rank, seed)));
        var standardize = Standardizer.Fit(data.Train);
        var standardTrain = standardize(data.Train);
        var standardTest = standardize(data.Test);
        results.Add(data, BenchResults.Pca, Timed(() => PrincipalComponents.Fit(standardTrain, rank, seed).ReconstructionError(standardTest)));
        // The best rank chosen on the test labels: an upper bound on what tuning the PCA baseline could reach.
        if (arguments.Oracle)
        {
            var best = Enumerable.Range(1, Math.Min(data.Train.Columns - 1, 3 * data.Rank))
                .Select(r => PrincipalComponents.Fit(standardTrain, r, seed).ReconstructionError(standardTest))
                .MaxBy(scores => BenchResults.Auroc(scores, data.IsAnomaly))!;
            results.Add(data, "PCA best rank (oracle)", (best, 0));
        }

        foreach (var candidate in arguments.Candidates)
        {
            var options = candidate.ForRun(seed);
            var run = Timed(() =>
            {
                using var detector = new VaeAnomalyTrainer(options).Fit(data.Train);
                return detector.Score(data.Test);
            });
            results.Add(data, $"IWAE {candidate.Label}", run);
            Console.WriteLine($"  {data.Name} seed {seed} IWAE {candidate.Label}: AUROC {BenchResults.Auroc(run.Scores, data.IsAnomaly):F3} ({options.Trainer.Epochs} epochs, {run.Seconds:F1} s)");
        }
    }
}

string report = results.Format(arguments.Seeds.Length);
Console.WriteLine(report);
if (arguments.OutputFile is { } output)
{
    File.WriteAllText(output, $"Command: {arguments}\n\n{report}");
    Console.WriteLine($"Written to {output}");
}
return 0;

static (float[] Scores, double Seconds) Timed(Func<float[]> score)
{
    var clock = Stopwatch.StartNew();
    var scores = score();
    return (scores, clock.Elapsed.TotalSeconds);
}
