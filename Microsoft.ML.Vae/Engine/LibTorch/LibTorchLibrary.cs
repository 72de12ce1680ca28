using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.LibTorch;

/// <summary>
/// The loaded native shim (native/include/vae_torch.h): its exports as unmanaged function pointers, bound once per
/// process after checking the shim's ABI version. Every call returns a status; a failure becomes an exception carrying
/// the shim's thread-local message (<see cref="ArgumentException"/> for a bad argument, <see cref="OutOfMemoryException"/>
/// when host or device memory runs out, <see cref="InvalidOperationException"/> for anything libtorch reports).
/// Arrays cross as pointers to whole batches.
/// </summary>
internal sealed unsafe class LibTorchLibrary
{
    /// <summary>VAE_ABI_VERSION of the header this binding mirrors.</summary>
    public const int AbiVersion = 3;

    private const int StatusArgument = 1, StatusOutOfMemory = 3;

    private static readonly Lazy<LibTorchLibrary> s_shared = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly delegate* unmanaged<byte*> _lastError;
    private readonly delegate* unmanaged<int*, int> _cudaDeviceCount;
    private readonly delegate* unmanaged<int, int> _setNumThreads;
    private readonly delegate* unmanaged<NativeArchitecture*, byte*, nint*, int> _modelCreate;
    private readonly delegate* unmanaged<NativeArchitecture*, byte*, nint*, int> _modelCreateFloat64;
    private readonly delegate* unmanaged<nint, void> _modelDestroy;
    private readonly delegate* unmanaged<nint, float*, long, int> _setParameters;
    private readonly delegate* unmanaged<nint, float*, long, int> _getParameters;
    private readonly delegate* unmanaged<nint, float*, int, float*, int, NativeObjective*, float*, float*, int> _gradient;
    private readonly delegate* unmanaged<nint, float*, int, float*, int, NativeObjective*, NativeAdam*, float*, int> _trainStep;
    private readonly delegate* unmanaged<nint, float*, int, float*, float*, int> _encode;
    private readonly delegate* unmanaged<nint, float*, int, float*, int, float*, int> _logWeights;
    private readonly delegate* unmanaged<nint, float*, int, float*, int> _decode;

    private LibTorchLibrary(string path, nint library)
    {
        Path = path;
        if (!NativeLibrary.TryGetExport(library, "vae_abi_version", out nint abiExport))
            throw new InvalidOperationException($"{path} is not the libtorch engine's shim (it has no vae_abi_version): rebuild it with eng/build-native.sh.");
        int abi = ((delegate* unmanaged<int>)abiExport)();
        if (abi != AbiVersion)
            throw new InvalidOperationException(
                $"{path} has ABI version {abi}, but this Microsoft.ML.Vae needs version {AbiVersion}: rebuild the shim from the same " +
                $"source with eng/build-native.sh, or point {LibTorchLocator.NativePathVariable} at a matching build.");
        TorchVersion = Marshal.PtrToStringUTF8((nint)((delegate* unmanaged<byte*>)NativeLibrary.GetExport(library, "vae_torch_version"))()) ?? "";
        _lastError = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(library, "vae_last_error");
        _cudaDeviceCount = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(library, "vae_cuda_device_count");
        _setNumThreads = (delegate* unmanaged<int, int>)NativeLibrary.GetExport(library, "vae_set_num_threads");
        _modelCreate = (delegate* unmanaged<NativeArchitecture*, byte*, nint*, int>)NativeLibrary.GetExport(library, "vae_model_create");
        _modelCreateFloat64 = (delegate* unmanaged<NativeArchitecture*, byte*, nint*, int>)NativeLibrary.GetExport(library, "vae_model_create_float64");
        _modelDestroy = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(library, "vae_model_destroy");
        _setParameters = (delegate* unmanaged<nint, float*, long, int>)NativeLibrary.GetExport(library, "vae_model_set_parameters");
        _getParameters = (delegate* unmanaged<nint, float*, long, int>)NativeLibrary.GetExport(library, "vae_model_get_parameters");
        _gradient = (delegate* unmanaged<nint, float*, int, float*, int, NativeObjective*, float*, float*, int>)NativeLibrary.GetExport(library, "vae_model_gradient");
        _trainStep = (delegate* unmanaged<nint, float*, int, float*, int, NativeObjective*, NativeAdam*, float*, int>)NativeLibrary.GetExport(library, "vae_model_train_step");
        _encode = (delegate* unmanaged<nint, float*, int, float*, float*, int>)NativeLibrary.GetExport(library, "vae_model_encode");
        _logWeights = (delegate* unmanaged<nint, float*, int, float*, int, float*, int>)NativeLibrary.GetExport(library, "vae_model_log_weights");
        _decode = (delegate* unmanaged<nint, float*, int, float*, int>)NativeLibrary.GetExport(library, "vae_model_decode");
    }

    /// <summary>The shim of this process, loaded on first use; throws with the remedies when it cannot be.</summary>
    public static LibTorchLibrary Shared => s_shared.Value;

    /// <summary>The file the shim was loaded from.</summary>
    public string Path { get; }

    /// <summary>The libtorch version the shim was built against.</summary>
    public string TorchVersion { get; }

    private static LibTorchLibrary Load() => Load(LibTorchLocator.ShimCandidates());

    /// <summary>Loads the first shim of <paramref name="shimCandidates"/> that exists (uncached: <see cref="Shared"/> is the process's one).</summary>
    internal static LibTorchLibrary Load(IEnumerable<string> shimCandidates)
    {
        LibTorchLocator.PreloadLibTorch();
        string path = LibTorchLocator.FindShim(shimCandidates);
        nint library;
        try { library = NativeLibrary.Load(path); }
        catch (DllNotFoundException e)
        {
            throw new DllNotFoundException($"The libtorch engine's shim {path} was found but could not be loaded: {e.Message} {LibTorchLocator.LoadRemedies}", e);
        }
        return new LibTorchLibrary(path, library);
    }

    public int CudaDeviceCount()
    {
        int count;
        Check(_cudaDeviceCount(&count));
        return count;
    }

    /// <summary>libtorch's CPU threads; process-wide, as libtorch keeps one setting.</summary>
    public void SetThreads(int threads) => Check(_setNumThreads(threads));

    /// <summary>
    /// A model with all parameters zero on <paramref name="device"/> ("cpu" or "cuda:N"); with
    /// <paramref name="float64"/> it computes in double precision (the tests' exact reference).
    /// </summary>
    public LibTorchModelHandle CreateModel(ParameterLayout layout, string device, bool float64 = false)
    {
        var encoder = layout.EncoderHidden.Select(l => new NativeDenseLayer(l)).ToArray();
        var decoder = layout.DecoderHidden.Select(l => new NativeDenseLayer(l)).ToArray();
        byte[] deviceName = Encoding.UTF8.GetBytes(device + "\0");
        bool categorical = layout.Latent == LatentKind.Categorical;
        var handle = new LibTorchModelHandle(this);
        fixed (NativeDenseLayer* encoderLayers = encoder)
        fixed (NativeDenseLayer* decoderLayers = decoder)
        fixed (byte* deviceText = deviceName)
        {
            var architecture = new NativeArchitecture
            {
                ParameterCount = layout.Count,
                EncoderHidden = encoderLayers,
                DecoderHidden = decoderLayers,
                EncoderMean = new NativeDenseLayer(layout.EncoderMean),
                EncoderLogVariance = categorical ? default : new NativeDenseLayer(layout.EncoderLogVariance),
                DecoderOutput = new NativeDenseLayer(layout.DecoderOutput),
                DecoderLogVarianceOffset = layout.DecoderLogVariance?.Offset ?? -1,
                EncoderHiddenCount = encoder.Length,
                DecoderHiddenCount = decoder.Length,
                InputSize = layout.InputSize,
                LatentSize = layout.LatentSize,
                Activation = NativeActivation(layout.Activation),
                Decoder = layout.Decoder == DecoderKind.Bernoulli ? 0 : 1,
                DecoderVariance = layout.DecoderVariance,
                Latent = categorical ? 1 : 0,
                CategoryCount = layout.CategoryCount,
                Prior = (int)layout.Prior,
                PseudoInputCount = layout.PseudoInputs?.Rows ?? 0,
                PriorMeanOffset = layout.PriorMean?.Offset ?? -1,
                PriorLogVarianceOffset = layout.PriorLogVariance?.Offset ?? -1,
                PseudoInputOffset = layout.PseudoInputs?.Offset ?? -1,
            };
            nint model;
            Check((float64 ? _modelCreateFloat64 : _modelCreate)(&architecture, deviceText, &model));
            handle.Attach(model);
        }
        return handle;
    }

    internal void DestroyModel(nint model) => _modelDestroy(model);

    public void SetParameters(LibTorchModelHandle model, ReadOnlySpan<float> parameters)
    {
        using var lease = model.Acquire();
        fixed (float* values = parameters) Check(_setParameters(lease.Pointer, values, parameters.Length));
    }

    public void GetParameters(LibTorchModelHandle model, Span<float> parameters)
    {
        using var lease = model.Acquire();
        fixed (float* values = parameters) Check(_getParameters(lease.Pointer, values, parameters.Length));
    }

    public void Gradient(LibTorchModelHandle model, ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount,
        in ObjectiveSettings objective, Span<float> rowBounds, Span<float> gradient)
    {
        var settings = new NativeObjective(objective);
        using var lease = model.Acquire();
        fixed (float* xs = x, eps = noise, bounds = rowBounds, g = gradient)
            Check(_gradient(lease.Pointer, xs, rows, eps, sampleCount, &settings, bounds, g));
    }

    public void TrainStep(LibTorchModelHandle model, ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount,
        in ObjectiveSettings objective, in AdamSettings adam, Span<float> rowBounds)
    {
        var settings = new NativeObjective(objective);
        var step = new NativeAdam(adam);
        using var lease = model.Acquire();
        fixed (float* xs = x, eps = noise, bounds = rowBounds)
            Check(_trainStep(lease.Pointer, xs, rows, eps, sampleCount, &settings, &step, bounds));
    }

    public void Encode(LibTorchModelHandle model, ReadOnlySpan<float> x, int rows, Span<float> mean, Span<float> logVariance)
    {
        using var lease = model.Acquire();
        fixed (float* xs = x, mu = mean, lv = logVariance) Check(_encode(lease.Pointer, xs, rows, mu, lv));
    }

    public void LogWeights(LibTorchModelHandle model, ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, Span<float> logWeights)
    {
        using var lease = model.Acquire();
        fixed (float* xs = x, eps = noise, w = logWeights) Check(_logWeights(lease.Pointer, xs, rows, eps, sampleCount, w));
    }

    public void Decode(LibTorchModelHandle model, ReadOnlySpan<float> z, int rows, Span<float> output)
    {
        using var lease = model.Acquire();
        fixed (float* zs = z, o = output) Check(_decode(lease.Pointer, zs, rows, o));
    }

    /// <summary>Turns a failed status into an exception with the shim's message (read on the thread that failed).</summary>
    private void Check(int status)
    {
        if (status == 0) return;
        string message = $"libtorch engine: {Marshal.PtrToStringUTF8((nint)_lastError())}";
        throw status switch
        {
            StatusArgument => new ArgumentException(message),
            StatusOutOfMemory => new OutOfMemoryException(message),
            _ => new InvalidOperationException(message),
        };
    }

    private static int NativeActivation(Activation activation) => activation switch
    {
        Activation.Tanh => 0,
        Activation.Relu => 1,
        Activation.Softplus => 2,
        Activation.Identity => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };
}
