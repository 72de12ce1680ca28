using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae;

/// <summary>
/// The trainer's host loop, for every engine and option: each epoch's order, the dynamic binarisation and the noise
/// are drawn on the host from their <see cref="RandomSource"/> streams and handed to the engine one batch at a time;
/// the bound of every batch is read back and checked. The counterpart of <see cref="DeviceLoopTraining"/>.
/// </summary>
internal sealed class HostLoopTraining
{
    private readonly IVaeBackend _backend;
    private readonly VaeTrainerOptions _options;
    private readonly float[] _values;
    private readonly int[] _trainingRows;
    private readonly int _batchSize, _batches, _features;
    private readonly RandomSource _shuffle, _binarization, _noiseSource;
    private readonly float[] _batch, _noise, _bounds;
    private readonly ObjectiveSettings _objective;
    private double _baselineSum, _baselineWeight; // running mean of the bound, the score function's baseline

    public HostLoopTraining(IVaeBackend backend, VaeTrainerOptions options, float[] values, int[] trainingRows, int batchSize,
        (long Shuffle, long Binarization, long Noise) streams)
    {
        _backend = backend;
        _options = options;
        _values = values;
        _trainingRows = trainingRows;
        _batchSize = batchSize;
        _batches = (trainingRows.Length + batchSize - 1) / batchSize;
        _features = backend.Layout.InputSize;
        _shuffle = new RandomSource(options.Seed, streams.Shuffle);
        _binarization = new RandomSource(options.Seed, streams.Binarization);
        _noiseSource = new RandomSource(options.Seed, streams.Noise);
        _batch = new float[batchSize * _features];
        _noise = new float[batchSize * options.SampleCount * backend.Layout.LatentSize];
        _bounds = new float[batchSize];
        _objective = new ObjectiveSettings(options.AnalyticKl)
        {
            Objective = options.Objective,
            Groups = options.ObjectiveGroups,
            CiwaeBeta = options.CiwaeBeta,
            Estimator = options.GradientEstimator,
            StraightThrough = options.StraightThrough,
        };
    }

    /// <summary>
    /// One epoch; <paramref name="step"/> is the Adam step before it and after it. Reports (batches done, bound sum,
    /// rows) after every batch but the epoch's last; throws what <paramref name="diverged"/> makes when a batch's bound
    /// is not finite.
    /// </summary>
    public (double BoundSum, int Rows) RunEpoch(int epoch, ref long step, Action<int, double, int> report,
        Func<string, Exception> diverged, CancellationToken cancellationToken)
    {
        int k = _options.SampleCount, latent = _backend.Layout.LatentSize;
        _shuffle.Shuffle(_trainingRows);
        double boundSum = 0;
        int rowsSeen = 0;
        for (int b = 0; b < _batches; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int start = b * _batchSize, count = Math.Min(_batchSize, _trainingRows.Length - start);
            Gather(_values, _features, _trainingRows.AsSpan(start, count), _batch, _options.Binarization == Binarization.Dynamic ? _binarization : null);
            _noiseSource.FillLatentNoise(_noise.AsSpan(0, count * k * latent), _backend.Layout.Latent);
            var adam = new AdamSettings(_options.LearningRate, _options.Beta1, _options.Beta2, _options.Epsilon, ++step);
            var stepObjective = _objective with
            {
                Temperature = Temperature(step),
                ScoreBaseline = _baselineWeight > 0 ? (float)(_baselineSum / _baselineWeight) : float.NaN,
            };
            _backend.TrainStep(_batch.AsSpan(0, count * _features), count, _noise.AsSpan(0, count * k * latent), k, stepObjective, adam, _bounds);
            double batchSum = 0;
            for (int i = 0; i < count; i++) batchSum += _bounds[i];
            _baselineSum = _options.BaselineDecay * _baselineSum + batchSum / count;
            _baselineWeight = _options.BaselineDecay * _baselineWeight + 1;
            if (!double.IsFinite(batchSum)) throw diverged($"at epoch {epoch}, batch {b + 1}: the bound became {batchSum}");
            boundSum += batchSum;
            rowsSeen += count;
            if (b + 1 < _batches) report(b + 1, boundSum, rowsSeen); // the epoch's last report waits for the validation bound
        }
        return (boundSum, rowsSeen);
    }

    /// <summary>
    /// The bound checked in the loop is the one before each update, so the last update is checked here: the
    /// <paramref name="parameters"/> after it must be finite and give a finite bound on the last batch (with that
    /// batch's noise).
    /// </summary>
    public void CheckLastUpdate(float[] parameters, int epoch, Func<string, Exception> diverged)
    {
        int k = _options.SampleCount, count = Math.Min(_batchSize, _trainingRows.Length - (_batches - 1) * _batchSize);
        foreach (float p in parameters)
            if (!float.IsFinite(p)) throw diverged($"in the last update of epoch {epoch}: a parameter became {p}");
        var weights = new float[count * k];
        _backend.LogWeights(_batch.AsSpan(0, count * _features), count, _noise.AsSpan(0, count * k * _backend.Layout.LatentSize), k, weights);
        for (int r = 0; r < count; r++)
        {
            double bound = LogSpace.LogMeanExp(weights.AsSpan(r * k, k));
            if (!double.IsFinite(bound)) throw diverged($"in the last update of epoch {epoch}: the bound of a row became {bound}");
        }
    }

    private float Temperature(long step) =>
        MathF.Max(_options.MinimumTemperature, _options.Temperature * MathF.Exp(-_options.TemperatureAnnealRate * step));

    /// <summary>Copies the given rows into <paramref name="batch"/>, binarised when <paramref name="binarization"/> is given.</summary>
    internal static void Gather(float[] values, int features, ReadOnlySpan<int> rows, float[] batch, RandomSource? binarization)
    {
        for (int i = 0; i < rows.Length; i++)
        {
            var source = values.AsSpan(rows[i] * features, features);
            var target = batch.AsSpan(i * features, features);
            if (binarization is null) source.CopyTo(target);
            else binarization.FillBernoulli(source, target);
        }
    }
}
