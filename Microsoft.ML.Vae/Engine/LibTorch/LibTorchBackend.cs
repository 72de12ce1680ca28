using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.LibTorch;

/// <summary>
/// The libtorch engine: parameters and Adam state live on the device (CPU or CUDA) inside the native shim; each call
/// moves one whole batch in and its results out. The computation is the managed engine's (docs/design.md and
/// docs/estimators.md: every objective, estimator, prior and latent kind) with the backward pass by libtorch's
/// autograd, so both engines agree to float32 rounding.
/// </summary>
internal sealed class LibTorchBackend : IVaeBackend
{
    private readonly LibTorchLibrary _library;
    private readonly LibTorchModelHandle _model;

    /// <param name="library">The loaded shim.</param>
    /// <param name="layout">The model's parameter layout, shared with every engine.</param>
    /// <param name="threads">libtorch's CPU threads (process-wide) when the engine runs on the CPU.</param>
    /// <param name="device">"cpu", "cuda", "cuda:N", or null for CUDA when available.</param>
    /// <param name="fallbackToCpu">Whether an unavailable CUDA device falls back to the CPU (otherwise: an exception).</param>
    /// <param name="float64">Compute in double precision: the exact reference the float32 engines are tested against.</param>
    public LibTorchBackend(LibTorchLibrary library, ParameterLayout layout, int threads, string? device, bool fallbackToCpu, bool float64 = false)
    {
        _library = library;
        var target = LibTorchDevice.Resolve(device, fallbackToCpu, _library.CudaDeviceCount());
        if (target.IsCpu) _library.SetThreads(Math.Max(1, threads));
        Layout = layout;
        Device = target;
        _model = _library.CreateModel(layout, target.TorchName, float64);
        Name = $"libtorch {_library.TorchVersion} ({target.Description}{(float64 ? ", float64" : "")})";
    }

    public string Name { get; }

    /// <summary>A GPU wants far larger passes than a CPU's caches; 64k sample rows of the 784-200-200-50 model take ~0.5 GB.</summary>
    public int ScoringSampleRows => Device.IsCpu ? 4096 : 65536;

    public ParameterLayout Layout { get; }

    /// <summary>Where the parameters and the computation live.</summary>
    public LibTorchDevice Device { get; }

    public void SetParameters(ReadOnlySpan<float> parameters)
    {
        Require(parameters.Length == Layout.Count, nameof(parameters), $"Expected {Layout.Count} parameters, got {parameters.Length}.");
        _library.SetParameters(_model, parameters);
    }

    public void GetParameters(Span<float> parameters)
    {
        Require(parameters.Length >= Layout.Count, nameof(parameters), $"The span needs room for {Layout.Count} parameters, it has {parameters.Length}.");
        _library.GetParameters(_model, parameters[..Layout.Count]);
    }

    public void Gradient(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        Span<float> rowBounds, Span<float> gradient)
    {
        CheckBatch(x, rows, noise, sampleCount);
        CheckOutput(rowBounds, rows, nameof(rowBounds));
        CheckOutput(gradient, Layout.Count, nameof(gradient));
        _library.Gradient(_model, x, rows, noise, sampleCount, objective, rowBounds, gradient);
    }

    public void TrainStep(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        in AdamSettings adam, Span<float> rowBounds)
    {
        CheckBatch(x, rows, noise, sampleCount);
        CheckOutput(rowBounds, rows, nameof(rowBounds));
        _library.TrainStep(_model, x, rows, noise, sampleCount, objective, adam, rowBounds);
    }

    public void Encode(ReadOnlySpan<float> x, int rows, Span<float> mean, Span<float> logVariance)
    {
        if (rows == 0) return;
        CheckRows(x, rows, Layout.InputSize, nameof(x));
        CheckOutput(mean, rows * Layout.LatentSize, nameof(mean));
        CheckOutput(logVariance, rows * Layout.LatentSize, nameof(logVariance));
        _library.Encode(_model, x, rows, mean, logVariance);
    }

    public void LogWeights(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, Span<float> logWeights)
    {
        if (rows == 0) return;
        CheckBatch(x, rows, noise, sampleCount);
        CheckOutput(logWeights, rows * sampleCount, nameof(logWeights));
        _library.LogWeights(_model, x, rows, noise, sampleCount, logWeights);
    }

    public void Decode(ReadOnlySpan<float> z, int rows, Span<float> output)
    {
        if (rows == 0) return;
        CheckRows(z, rows, Layout.LatentSize, nameof(z));
        CheckOutput(output, rows * Layout.InputSize, nameof(output));
        _library.Decode(_model, z, rows, output);
    }

    /// <summary>
    /// Opens the device loop (native/src/device_loop.cpp) and uploads its training rows: <paramref name="rows"/> of
    /// <paramref name="values"/>, gathered on the host in chunks of at most <paramref name="chunkBytes"/>.
    /// </summary>
    internal void OpenDeviceLoop(in NativeLoopSettings settings, float[] values, ReadOnlySpan<int> rows, long chunkBytes = UploadChunkBytes)
    {
        Require(settings.Rows == rows.Length, nameof(rows), $"The loop holds {settings.Rows} rows, {rows.Length} were given.");
        int features = Layout.InputSize;
        try { _library.OpenLoop(_model, settings); }
        catch (OutOfMemoryException e)
        {
            throw new OutOfMemoryException(
                $"VaeTrainerOptions.TrainOnDevice: the {rows.Length:N0} training rows ({(double)rows.Length * features * sizeof(float) / (1 << 30):F2} GiB) and the " +
                $"batch buffers do not fit in the memory of {Device.Description}. Train with TrainOnDevice = false (the host loop sends one batch " +
                $"at a time), or with fewer rows or a smaller BatchSize or SampleCount. ({e.Message})", e);
        }
        int chunkRows = (int)Math.Clamp(chunkBytes / (sizeof(float) * (long)features), 1, rows.Length);
        var chunk = new float[chunkRows * features];
        for (int first = 0; first < rows.Length; first += chunkRows)
        {
            int count = Math.Min(chunkRows, rows.Length - first);
            for (int r = 0; r < count; r++) values.AsSpan(rows[first + r] * features, features).CopyTo(chunk.AsSpan(r * features));
            _library.UploadLoopRows(_model, first, chunk.AsSpan(0, count * features), count);
        }
    }

    /// <summary>The host memory one upload of the device loop's rows takes at most (the rows go up in chunks of this size).</summary>
    internal const long UploadChunkBytes = 64L << 20;

    internal void ShuffleDeviceLoop(long epoch) => _library.ShuffleLoop(_model, epoch);

    internal NativeLoopReport RunDeviceLoop(long firstBatch, int batchCount, long firstStep, bool checkLastUpdate) =>
        _library.RunLoop(_model, firstBatch, batchCount, firstStep, checkLastUpdate);

    internal void CloseDeviceLoop() => _library.CloseLoop(_model);

    /// <summary>
    /// IWAE log-likelihood estimates with the noise drawn on the device: row r's from <see cref="Mathematics.CounterRandom"/>
    /// (seed, stream, firstCounter + r), or (seed, stream, firstCounter) for every row with shared noise, element
    /// k·latent + d; passes of <see cref="ScoringSampleRows"/> sample rows, one read-back per group of rows.
    /// </summary>
    internal void LogLikelihoodOnDevice(ReadOnlySpan<float> x, int rows, int sampleCount, int seed, long stream, long firstCounter,
        bool sharedNoise, Span<float> result)
    {
        Require(rows >= 1, nameof(rows), $"At least one row is needed (got {rows}).");
        Require(sampleCount >= 1, nameof(sampleCount), $"The sample count K must be at least 1 (got {sampleCount}).");
        CheckRows(x, rows, Layout.InputSize, nameof(x));
        CheckOutput(result, rows, nameof(result));
        _library.LogLikelihood(_model, x, rows, sampleCount, seed, stream, firstCounter, sharedNoise, ScoringSampleRows, result);
    }

    public void Dispose() => _model.Dispose();

    // The shim reads and writes exactly the sizes the shapes imply, so every span is checked here first.
    private void CheckBatch(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount)
    {
        Require(rows >= 1, nameof(rows), $"A batch needs at least one row (got {rows}).");
        Require(sampleCount >= 1, nameof(sampleCount), $"The sample count K must be at least 1 (got {sampleCount}).");
        CheckRows(x, rows, Layout.InputSize, nameof(x));
        long expected = (long)rows * sampleCount * Layout.LatentSize;
        Require(noise.Length == expected, nameof(noise),
            $"Expected {expected} noise values ([{rows}, {sampleCount}, {Layout.LatentSize}]), got {noise.Length}.");
    }

    private static void CheckRows(ReadOnlySpan<float> values, int rows, int columns, string name)
    {
        Require(rows >= 0, name, $"The row count must not be negative (got {rows}).");
        Require(values.Length == (long)rows * columns, name, $"Expected {rows} rows of {columns} values ({(long)rows * columns}), got {values.Length}.");
    }

    private static void CheckOutput(Span<float> output, long length, string name) =>
        Require(output.Length >= length, name, $"The output span needs room for {length} values, it has {output.Length}.");

    private static void Require(bool condition, string name, string message)
    {
        if (!condition) throw new ArgumentException(message, name);
    }
}
