using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.LibTorch;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae;

/// <summary>
/// The libtorch engine's device loop (native/src/device_loop.cpp) as the trainer drives it: the training rows go to
/// the device once; each epoch's order, the dynamic binarisation and the noise are drawn there by
/// <see cref="Mathematics.CounterRandom"/> (shuffle keyed by the epoch, binarisation and noise by the Adam step); the
/// host reads back only every <see cref="VaeTrainerOptions.DeviceReportInterval"/> batches (the bound summed on the
/// device, the parameters' sum for divergence) and after the last step. Each run of batches hands the shim only its
/// first batch and Adam step: the native step advances both on the device, so that on CUDA builds it is replayed from
/// a CUDA graph per batch shape (native/src/step_graph.cpp, docs/libtorch.md).
/// </summary>
internal sealed class DeviceLoopTraining : IDisposable
{
    private readonly LibTorchBackend _backend;
    private readonly int _batches, _reportInterval;

    public DeviceLoopTraining(LibTorchBackend backend, VaeTrainerOptions options, float[] values, int[] trainingRows, int batchSize,
        (long Shuffle, long Binarization, long Noise) streams)
    {
        _backend = backend;
        _batches = (trainingRows.Length + batchSize - 1) / batchSize;
        _reportInterval = options.DeviceReportInterval;
        var settings = new NativeLoopSettings
        {
            Rows = trainingRows.Length,
            BatchSize = batchSize,
            Samples = options.SampleCount,
            Seed = options.Seed,
            DynamicBinarization = options.Binarization == Binarization.Dynamic ? 1 : 0,
            ShuffleStream = streams.Shuffle,
            BinarizationStream = streams.Binarization,
            NoiseStream = streams.Noise,
            Objective = new NativeObjective(new ObjectiveSettings(options.AnalyticKl)
            {
                Objective = options.Objective,
                Groups = options.ObjectiveGroups,
                CiwaeBeta = options.CiwaeBeta,
                Estimator = options.GradientEstimator,
            }),
            LearningRate = options.LearningRate,
            Beta1 = options.Beta1,
            Beta2 = options.Beta2,
            Epsilon = options.Epsilon,
        };
        backend.OpenDeviceLoop(settings, values, trainingRows);
    }

    /// <summary>
    /// Why these options train on the host loop instead (null when the device loop runs them): it needs the libtorch
    /// engine, Gaussian latents, and an estimator without a host-side baseline.
    /// </summary>
    public static string? UnsupportedReason(IVaeBackend backend, ParameterLayout layout, VaeTrainerOptions options) =>
        backend is not LibTorchBackend ? $"needs the libtorch engine, and training runs on {backend.Name}"
        : layout.Latent != LatentKind.Gaussian ? "trains Gaussian latents only (these are categorical)"
        : options.GradientEstimator == GradientEstimator.ScoreFunction ? "does not run the score-function estimator (its baseline is a running mean on the host)"
        : null;

    /// <summary>
    /// One epoch; <paramref name="step"/> is the Adam step before it and after it. Reports (batches done, bound sum,
    /// rows) at every read-back but the epoch's last; throws what <paramref name="diverged"/> makes when a read-back
    /// finds a non-finite bound or parameter, and with <paramref name="checkLastUpdate"/> also checks the bound of the
    /// last batch after its update.
    /// </summary>
    public (double BoundSum, int Rows) RunEpoch(int epoch, ref long step, bool checkLastUpdate, Action<int, double, int> report,
        Func<string, Exception> diverged, CancellationToken cancellationToken)
    {
        _backend.ShuffleDeviceLoop(epoch);
        double boundSum = 0;
        int rows = 0;
        for (int first = 0; first < _batches; first += _reportInterval)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(_reportInterval, _batches - first);
            bool last = checkLastUpdate && first + count == _batches;
            var read = _backend.RunDeviceLoop(first, count, step + 1, last);
            step += count;
            if (!double.IsFinite(read.BoundSum) || (!last && !double.IsFinite(read.ParameterSum)))
                throw diverged($"at epoch {epoch}, in batches {first + 1} to {first + count}: the bound became {read.BoundSum}, the parameters' sum {read.ParameterSum}");
            if (last && !(double.IsFinite(read.ParameterSum) && double.IsFinite(read.LastBatchBoundSum)))
                throw diverged($"in the last update of epoch {epoch}: the parameters' sum became {read.ParameterSum}, the last batch's bound {read.LastBatchBoundSum}");
            boundSum += read.BoundSum;
            rows += (int)read.Rows;
            if (first + count < _batches) report(first + count, boundSum, rows);
        }
        return (boundSum, rows);
    }

    public void Dispose() => _backend.CloseDeviceLoop();
}
