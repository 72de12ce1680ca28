using MLNetPipeline;

// Six sensors driven by two hidden factors (plus noise), as correlated plant measurements are.
var random = new Random(0);
ModelInput Reading(double a, double b) => new()
{
    Sensors = [(float)(20 + 5 * a), (float)(20 + 4 * a + b), (float)(-3 * b), (float)(100 + 10 * a - 10 * b), (float)(a * 2), (float)(b - a)],
};
double Noise() => (random.NextDouble() - 0.5) * 0.1;
ModelInput Normal()
{
    double a = random.NextDouble() * 2 - 1, b = random.NextDouble() * 2 - 1;
    var reading = Reading(a, b);
    for (int i = 0; i < ModelInput.SensorCount; i++) reading.Sensors[i] += (float)Noise();
    return reading;
}

// 1. Train (Model Builder's "train" step) and save model.zip.
MLModel.Train(MLModel.ModelPath, Enumerable.Range(0, 2000).Select(_ => Normal()).ToList());
Console.WriteLine($"Saved {MLModel.ModelPath}.");

// 2. Consume: score readings with the saved model alone.
var normal = Normal();
var broken = Normal();
broken.Sensors[3] += 40; // one sensor disagrees with the others
foreach (var (name, reading) in new[] { ("normal reading", normal), ("sensor 4 shifted", broken) })
{
    var output = MLModel.Predict(reading);
    Console.WriteLine($"{name}: score {output.Score[0]:F2}, anomaly {output.PredictedLabel[0]}");
}
