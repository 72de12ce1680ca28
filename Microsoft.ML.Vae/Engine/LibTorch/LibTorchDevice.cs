using System.Globalization;

namespace Microsoft.ML.Vae.Engine.LibTorch;

/// <summary>
/// The device a libtorch engine runs on, from <see cref="VaeTrainerOptions.Device"/> ("cpu", "cuda", "cuda:N", or null
/// for CUDA when libtorch sees a GPU) and <see cref="VaeTrainerOptions.FallbackToCpu"/>.
/// </summary>
/// <param name="TorchName">The name the shim takes: "cpu" or "cuda:N".</param>
/// <param name="Description">For engine names and messages, e.g. "cpu, fallback: ...".</param>
internal readonly record struct LibTorchDevice(string TorchName, string Description)
{
    public bool IsCpu => TorchName == "cpu";

    /// <param name="requested">The Device option.</param>
    /// <param name="fallbackToCpu">The FallbackToCpu option.</param>
    /// <param name="cudaDevices">CUDA devices libtorch sees.</param>
    public static LibTorchDevice Resolve(string? requested, bool fallbackToCpu, int cudaDevices)
    {
        string text = requested?.Trim().ToLowerInvariant() ?? "";
        if (text == "cpu") return new("cpu", "cpu");
        int index;
        if (text.Length == 0) index = 0;
        else if (text == "cuda") index = 0;
        else if (!text.StartsWith("cuda:", StringComparison.Ordinal)
            || !int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out index))
            throw new ArgumentException(
                $"{nameof(VaeTrainerOptions)}.{nameof(VaeTrainerOptions.Device)} '{requested}' is not a device: use \"cpu\", \"cuda\", " +
                "\"cuda:N\" (N = 0, 1, ...) or null (CUDA when available, else CPU).", nameof(requested));
        if (index < cudaDevices) return new($"cuda:{index}", $"cuda:{index}");

        string wanted = text.Length == 0 ? "automatic (CUDA when available)" : $"'{requested}'";
        string reason = cudaDevices == 0
            ? "libtorch sees no CUDA device (a CPU-only libtorch, or no GPU or driver)"
            : $"libtorch sees only {cudaDevices} CUDA device(s)";
        if (fallbackToCpu) return new("cpu", $"cpu, fallback: {reason}");
        throw new InvalidOperationException(
            $"{nameof(VaeTrainerOptions)}.{nameof(VaeTrainerOptions.Device)} is {wanted}, but {reason}, and " +
            $"{nameof(VaeTrainerOptions.FallbackToCpu)} = false forbids running on the CPU. Set Device = \"cpu\", set FallbackToCpu = true, " +
            "or run where a GPU is visible with the shim built against a CUDA libtorch (LIBTORCH_USE_PYTORCH=1 eng/build-native.sh; see docs/libtorch.md).");
    }
}
