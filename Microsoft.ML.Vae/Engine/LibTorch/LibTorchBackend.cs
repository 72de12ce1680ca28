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
