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
        var shuffle = new RandomSource(_options.Seed, ShuffleStream);
        var binarization = new RandomSource(_options.Seed, BinarizationStream);
        var noiseSource = new RandomSource(_options.Seed, NoiseStream);
        int batches = (trainingRows.Length + batchSize - 1) / batchSize;
        var batch = new float[batchSize * features];
        var noise = new float[batchSize * k * latent];
        var bounds = new float[batchSize];
        var objective = new ObjectiveSettings(_options.AnalyticKl)
        {
            Objective = _options.Objective,
            Groups = _options.ObjectiveGroups,
            CiwaeBeta = _options.CiwaeBeta,
            Estimator = _options.GradientEstimator,
            StraightThrough = _options.StraightThrough,
        };
        double baselineSum = 0, baselineWeight = 0; // running mean of the bound, the score function's baseline

        var history = new List<EpochSummary>();
        float[]? best = null;
        double bestValidation = double.NegativeInfinity;
        int epochsWithoutImprovement = 0;
        long step = 0;
        string trainingLoop = "host";
        string? unsupported = _options.TrainOnDevice ? DeviceLoopTraining.UnsupportedReason(backend, layout, _options) : null;
        if (unsupported is not null) trainingLoop = $"host (the device loop {unsupported})";
        using var deviceLoop = _options.TrainOnDevice && unsupported is null
            ? new DeviceLoopTraining((LibTorchBackend)backend, _options, values, trainingRows, batchSize, (ShuffleStream, BinarizationStream, NoiseStream))
            : null;
        if (deviceLoop is not null) trainingLoop = "device";
        var clock = Stopwatch.StartNew();

        for (int epoch = 1; epoch <= _options.Epochs; epoch++)
        {
            double boundSum = 0;
            int rowsSeen = 0;
            if (deviceLoop is not null)
            {
                int current = epoch;
                (boundSum, rowsSeen) = deviceLoop.RunEpoch(epoch, ref step, checkLastUpdate: validationCount == 0 && epoch == _options.Epochs,
                    (done, sum, seen) => progress?.Report(new TrainingProgress(current, _options.Epochs, done, batches, sum / seen,
                        history.LastOrDefault()?.ValidationBound, clock.Elapsed) { TrainingLoop = trainingLoop }),
                    Diverged, cancellationToken);
            }
            else
            {
                shuffle.Shuffle(trainingRows);
                for (int b = 0; b < batches; b++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int start = b * batchSize, count = Math.Min(batchSize, trainingRows.Length - start);
                    Gather(values, features, trainingRows.AsSpan(start, count), batch,
                        _options.Binarization == Binarization.Dynamic ? binarization : null);
                    noiseSource.FillLatentNoise(noise.AsSpan(0, count * k * latent), layout.Latent);
                    var adam = new AdamSettings(_options.LearningRate, _options.Beta1, _options.Beta2, _options.Epsilon, ++step);
                    var stepObjective = objective with
                    {
                        Temperature = Temperature(step),
                        ScoreBaseline = baselineWeight > 0 ? (float)(baselineSum / baselineWeight) : float.NaN,
                    };
                    backend.TrainStep(batch.AsSpan(0, count * features), count, noise.AsSpan(0, count * k * latent), k, stepObjective, adam, bounds);
                    double batchSum = 0;
                    for (int i = 0; i < count; i++) batchSum += bounds[i];
                    baselineSum = _options.BaselineDecay * baselineSum + batchSum / count;
                    baselineWeight = _options.BaselineDecay * baselineWeight + 1;
                    if (!double.IsFinite(batchSum)) throw Diverged($"at epoch {epoch}, batch {b + 1}: the bound became {batchSum}");
                    boundSum += batchSum;
                    rowsSeen += count;
                    if (b + 1 < batches) // the epoch's last report waits for the validation bound
                        progress?.Report(new TrainingProgress(epoch, _options.Epochs, b + 1, batches, boundSum / rowsSeen, history.LastOrDefault()?.ValidationBound, clock.Elapsed)
                            { TrainingLoop = trainingLoop });
                }
            }

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
            if (deviceLoop is null) CheckLastUpdate(backend, parameters, batch, noise, k, Math.Min(batchSize, trainingRows.Length - (batches - 1) * batchSize), history.Count);
        }
        return new VaeModel(_modelOptions.Clone(), layout, parameters, history, threads, _options.Engine, _options.Device, _options.FallbackToCpu);
    }

    /// <summary>
    /// The bound checked in the loop is the one before each update, so the last update is checked here: its
    /// parameters must be finite and give a finite bound on the last batch (with that batch's noise).
    /// </summary>
    private void CheckLastUpdate(IVaeBackend backend, float[] parameters, float[] batch, float[] noise, int k, int count, int epoch)
    {
        foreach (float p in parameters)
            if (!float.IsFinite(p)) throw Diverged($"in the last update of epoch {epoch}: a parameter became {p}");
        var weights = new float[count * k];
        backend.LogWeights(batch.AsSpan(0, count * backend.Layout.InputSize), count, noise.AsSpan(0, count * k * backend.Layout.LatentSize), k, weights);
        for (int r = 0; r < count; r++)
        {
            double bound = LogSpace.LogMeanExp(weights.AsSpan(r * k, k));
            if (!double.IsFinite(bound)) throw Diverged($"in the last update of epoch {epoch}: the bound of a row became {bound}");
        }
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
            Gather(values, features, validationRows.AsSpan(start, count), batch, null);
            noiseSource.FillLatentNoise(noise.AsSpan(0, count * k * latent), backend.Layout.Latent);
            backend.LogWeights(batch.AsSpan(0, count * features), count, noise.AsSpan(0, count * k * latent), k, weights);
            for (int r = 0; r < count; r++) sum += LogSpace.LogMeanExp(weights.AsSpan(r * k, k));
        }
        return sum / validationRows.Length;
    }

    /// <summary>Gumbel-Softmax temperature at a step: τ_t = max(τ_min, τ_0·exp(−r·t)) (Jang et al. 2017).</summary>
    private float Temperature(long step) =>
        MathF.Max(_options.MinimumTemperature, _options.Temperature * MathF.Exp(-_options.TemperatureAnnealRate * step));

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

    private static void Gather(float[] values, int features, ReadOnlySpan<int> rows, float[] batch, RandomSource? binarization)
    {
        for (int i = 0; i < rows.Length; i++)
        {
            var source = values.AsSpan(rows[i] * features, features);
            var target = batch.AsSpan(i * features, features);
            if (binarization is null) source.CopyTo(target);
            else binarization.FillBernoulli(source, target);
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
