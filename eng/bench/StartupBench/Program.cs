using System.Diagnostics;
using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Datasets;

// Start-up cost in a consuming app with .NET's default JIT settings: one epoch of the 784-200-200-50 model at K = 1
// on 10,000 Fashion-MNIST images (100 batches), per-batch times from the progress reports.
// Usage: StartupBench [--data DIR]. Compare with DOTNET_TC_QuickJit=0 (what this repository's programs set) or
// DOTNET_TC_CallCountingDelayMs=0 in the environment.
var clock = Stopwatch.StartNew();
string? dataPath = args.Length == 2 && args[0] == "--data" ? args[1] : null;
var data = FashionMnist.Load(dataPath, maxTrain: 10000, maxTest: 1);
var elapsed = new List<double>();
using var model = new VaeTrainer(new VaeModelOptions(), new VaeTrainerOptions { SampleCount = 1, Epochs = 1, Seed = 1 })
    .Fit(data.Train.Images, new BatchClock(elapsed));
var perBatch = elapsed.Zip(elapsed.Prepend(0), (end, start) => end - start).ToArray();
Console.WriteLine($"process start to trained model {clock.Elapsed.TotalSeconds:F2} s; ms per batch: 1-10 {perBatch[..10].Average():F2}, " +
    $"11-30 {perBatch[10..30].Average():F2}, 31-{perBatch.Length} median {perBatch[30..].Order().ElementAt((perBatch.Length - 30) / 2):F2}, all {perBatch.Average():F2}");

/// <summary>Records each batch's elapsed training time (milliseconds).</summary>
internal sealed class BatchClock(List<double> elapsed) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => elapsed.Add(value.Elapsed.TotalMilliseconds);
}
