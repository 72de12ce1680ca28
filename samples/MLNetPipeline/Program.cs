using Microsoft.ML;
using Microsoft.ML.Vae.Datasets;
using MLNetPipeline;

// 1. Train (Model Builder's "train" step) and save the model files.
var fashion = FashionMnist.Load(maxTrain: 3000, maxTest: 1000);
Console.WriteLine($"Fashion-MNIST from {fashion.Folder}: {fashion.Train.Images.Rows} training and {fashion.Test.Images.Rows} test images.");
MLModel.Train(MLModel.ModelFolder, MLModel.Rows(fashion.Train));

// 2. Consume: embed one test image with the saved model.
var sample = MLModel.Rows(fashion.Test).First();
var output = MLModel.Predict(sample);
Console.WriteLine($"Test image 0 ({FashionMnist.ClassNames[(int)sample.Label]}): log p(x) = {output.LogLikelihood:F1} nats, " +
    $"embedding [{string.Join(", ", output.Embedding.Select(v => v.ToString("F2")))}]");

// 3. Anomaly detection: an IWAE trained on trousers only scores every other class as anomalous (label 1).
const int Normal = 1;
var mlContext = new MLContext(seed: 0);
var trousers = mlContext.Data.LoadFromEnumerable(MLModel.Rows(fashion.Train).Where(r => r.Label == Normal));
var test = mlContext.Data.LoadFromEnumerable(MLModel.Rows(fashion.Test).Select(r => new ModelInput { Pixels = r.Pixels, Label = r.Label == Normal ? 0 : 1 }));
var detector = mlContext.Transforms.Concatenate("Features", "Pixels")
    .Append(mlContext.AnomalyDetection.Trainers.Iwae(new Microsoft.ML.Vae.MLNet.IwaeAnomalyDetectionTrainer.Options
    {
        Model = { HiddenSizes = [200, 200], LatentSize = MLModel.LatentSize },
        Trainer = { Epochs = 10 },
        LogLikelihoodSampleCount = 100,
    }))
    .Fit(trousers);
var metrics = mlContext.AnomalyDetection.Evaluate(detector.Transform(test), labelColumnName: "Label");
Console.WriteLine($"Trousers vs. everything else: AUC {metrics.AreaUnderRocCurve:F3}, detection rate at 10 false positives {metrics.DetectionRateAtFalsePositiveCount:F3}.");
