using System.Diagnostics;
using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.LibTorch;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae;

/// <summary>
/// Trains a VAE (K = 1) or an IWAE (K &gt; 1) with Adam on minibatches reshuffled every epoch. Everything random
/// (initialisation, shuffling, binarisation, noise) comes from <see cref="VaeTrainerOptions.Seed"/>, drawn on the host
/// and handed to the engine, so the same seed and thread count give identical weights on every run; with
/// <see cref="VaeTrainerOptions.TrainOnDevice"/> the libtorch engine draws the shuffling, binarisation and noise on the
/// device instead (<see cref="DeviceLoopTraining"/>).
/// </summary>
public sealed class VaeTrainer
{
    // Independent random streams of one seed, so adding a use of randomness never shifts another.
    internal const long InitializationStream = 1, ShuffleStream = 2, BinarizationStream = 3, NoiseStream = 4, SplitStream = 5, ValidationNoiseStream = 6,
        PseudoInputStream = 7;

    private const int ValidationChunk = 100;

    private readonly VaeModelOptions _modelOptions;
    private readonly VaeTrainerOptions _options;

    public VaeTrainer(VaeModelOptions modelOptions, VaeTrainerOptions trainerOptions)
    {
        ArgumentNullException.ThrowIfNull(modelOptions);
        ArgumentNullException.ThrowIfNull(trainerOptions);
        modelOptions.Validate();
        trainerOptions.Validate();
        trainerOptions.ValidateFor(modelOptions);
        if (trainerOptions.Binarization != Binarization.None && modelOptions.Decoder != DecoderKind.Bernoulli)
            throw new ArgumentException($"Binarization {trainerOptions.Binarization} applies only to the Bernoulli decoder; use Binarization.None with a Gaussian decoder.", nameof(trainerOptions));
        _modelOptions = modelOptions.Clone();
        _options = trainerOptions.Clone();
    }

    /// <summary>
    /// Trains on the rows of <paramref name="data"/> and returns the model (with the best validation weights when a
    /// validation split is used), scoring on the engine it was trained on. Throws <see cref="OperationCanceledException"/> between batches when cancelled and
    /// <see cref="TrainingDivergedException"/> if the bound stops being finite; no model is returned then.
    /// </summary>
    public VaeModel Fit(FeatureMatrix data, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Rows == 0) throw new ArgumentException("The training data has no rows: at least one row is needed.", nameof(data));
        InputValidation.CheckBatch(data.Values, data.Rows, data.Columns, _modelOptions.Decoder, nameof(data));

        int features = data.Columns, k = _options.SampleCount;
        int threads = _options.ResolvedThreads;
        var layout = new ParameterLayout(_modelOptions, features);
        int latent = layout.LatentSize;
        int validationCount = (int)(data.Rows * _options.ValidationFraction);
        int batchSize = Math.Min(_options.BatchSize, data.Rows - validationCount);
        TrainingMemory.Check(layout, Math.Max(batchSize, Math.Min(ValidationChunk, validationCount)), k, TrainingMemory.AvailableBytes);
        using var backend = BackendFactory.Create(layout, _options.Engine, threads, _options.Device, _options.FallbackToCpu);

        var rows = Enumerable.Range(0, data.Rows).ToArray();
        if (validationCount > 0) new RandomSource(_options.Seed, SplitStream).Shuffle(rows);
        var validationRows = rows[^validationCount..];
        var trainingRows = rows[..^validationCount];
        if (trainingRows.Length == 0)
            throw new ArgumentException($"ValidationFraction {_options.ValidationFraction} leaves no training rows out of {data.Rows}.", nameof(data));
        var initial = layout.Initialize(new RandomSource(_options.Seed, InitializationStream), _options.Initialization);
        if (layout.PseudoInputs is { } pseudoInputs) InitializePseudoInputs(initial.AsSpan(pseudoInputs.Offset, pseudoInputs.Length), data, trainingRows);
        backend.SetParameters(initial);

        float[] values = _options.Binarization == Binarization.Threshold ? Threshold(data.Values, _options.BinarizationThreshold) : data.Values;
        int batches = (trainingRows.Length + batchSize - 1) / batchSize;

        var history = new List<EpochSummary>();
        float[]? best = null;
        double bestValidation = double.NegativeInfinity;
        int epochsWithoutImprovement = 0;
        long step = 0;
        var streams = (ShuffleStream, BinarizationStream, NoiseStream);
        string? unsupported = _options.TrainOnDevice ? DeviceLoopTraining.UnsupportedReason(backend, layout, _options) : null;
        using var deviceLoop = _options.TrainOnDevice && unsupported is null
            ? new DeviceLoopTraining((LibTorchBackend)backend, _options, values, trainingRows, batchSize, streams)
            : null;
        var hostLoop = deviceLoop is null ? new HostLoopTraining(backend, _options, values, trainingRows, batchSize, streams) : null;
        string trainingLoop = deviceLoop is not null ? "device" : unsupported is not null ? $"host (the device loop {unsupported})" : "host";
        var clock = Stopwatch.StartNew();

        for (int epoch = 1; epoch <= _options.Epochs; epoch++)
        {
            int current = epoch;
            void Report(int done, double sum, int seen) => progress?.Report(new TrainingProgress(current, _options.Epochs, done, batches,
                sum / seen, history.LastOrDefault()?.ValidationBound, clock.Elapsed) { TrainingLoop = trainingLoop });
            var (boundSum, rowsSeen) = deviceLoop is not null
                ? deviceLoop.RunEpoch(epoch, ref step, checkLastUpdate: validationCount == 0 && epoch == _options.Epochs, Report, Diverged, cancellationToken)
                : hostLoop!.RunEpoch(epoch, ref step, Report, Diverged, cancellationToken);

            double? validation = null;
            if (validationCount > 0)
            {
                validation = ValidationBound(backend, values, features, validationRows, k, latent);
                if (!double.IsFinite(validation.Value)) throw Diverged($"at epoch {epoch}: the validation bound became {validation}");
                if (validation > bestValidation)
                {
                    bestValidation = validation.Value;
                    best ??= new float[layout.Count];
                    backend.GetParameters(best);
                    epochsWithoutImprovement = 0;
                }
                else epochsWithoutImprovement++;
            }
            history.Add(new EpochSummary(epoch, boundSum / rowsSeen, validation, clock.Elapsed));
            progress?.Report(new TrainingProgress(epoch, _options.Epochs, batches, batches, boundSum / rowsSeen, validation, clock.Elapsed)
                { TrainingLoop = trainingLoop });
            if (validationCount > 0 && epochsWithoutImprovement >= _options.EarlyStoppingPatience) break;
        }

        var parameters = best ?? new float[layout.Count];
        if (best is null)
        {
            backend.GetParameters(parameters);
            // The device loop checked its last update on the device, with the last batch and noise it drew there.
            hostLoop?.CheckLastUpdate(parameters, history.Count, Diverged);
        }
        return new VaeModel(_modelOptions.Clone(), layout, parameters, history, threads, _options.Engine, _options.Device, _options.FallbackToCpu);
    }

    private TrainingDivergedException Diverged(string where) => new(
        $"Training diverged {where}. Lower LearningRate (now {_options.LearningRate}), scale the features, or use a smaller " +
        "DecoderVariance range; no model was produced.");

    /// <summary>Mean L_K over the validation rows, with noise fixed across epochs so epochs compare fairly.</summary>
    private double ValidationBound(IVaeBackend backend, float[] values, int features, int[] validationRows, int k, int latent)
    {
        const int chunk = ValidationChunk;
        var noiseSource = new RandomSource(_options.Seed, ValidationNoiseStream);
        var batch = new float[chunk * features];
        var noise = new float[chunk * k * latent];
        var weights = new float[chunk * k];
        double sum = 0;
        for (int start = 0; start < validationRows.Length; start += chunk)
        {
            int count = Math.Min(chunk, validationRows.Length - start);
            HostLoopTraining.Gather(values, features, validationRows.AsSpan(start, count), batch, null);
            noiseSource.FillLatentNoise(noise.AsSpan(0, count * k * latent), backend.Layout.Latent);
            backend.LogWeights(batch.AsSpan(0, count * features), count, noise.AsSpan(0, count * k * latent), k, weights);
            for (int r = 0; r < count; r++) sum += LogSpace.LogMeanExp(weights.AsSpan(r * k, k));
        }
        return sum / validationRows.Length;
    }

    /// <summary>Gumbel-Softmax temperature at a step: τ_t = max(τ_min, τ_0·exp(−r·t)) (Jang et al. 2017).</summary>
    /// <summary>VampPrior pseudo-inputs start at randomly chosen training rows (Tomczak and Welling's data initialisation).</summary>
    private void InitializePseudoInputs(Span<float> pseudoInputs, FeatureMatrix data, int[] trainingRows)
    {
        var random = new RandomSource(_options.Seed, PseudoInputStream);
        int features = data.Columns;
        for (int c = 0; c < pseudoInputs.Length / features; c++)
        {
            int row = trainingRows[random.NextInt(trainingRows.Length)];
            data.Values.AsSpan(row * features, features).CopyTo(pseudoInputs.Slice(c * features, features));
        }
    }

    private static float[] Threshold(float[] values, float threshold)
    {
        var result = new float[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = values[i] > threshold ? 1f : 0f;
        return result;
    }
}

/// <summary>Thrown when the training bound becomes NaN or infinite; no model is returned or saved.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
