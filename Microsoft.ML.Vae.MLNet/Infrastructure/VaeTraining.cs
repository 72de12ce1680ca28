using Microsoft.ML.Runtime;
using Microsoft.ML.Vae.Engine;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>What the estimators share around the core trainers: the seed and the engine an MLContext asks for.</summary>
internal static class VaeTraining
{
    /// <summary>
    /// The seed of a Fit: the options' seed, else the next value of the component's host random, which
    /// <c>new MLContext(seed)</c> makes reproducible (ML.NET's rule for its own trainers).
    /// </summary>
    public static int ResolveSeed(IHost host, int? seed) => seed ?? host.Rand.Next();

    /// <summary>
    /// Maps <see cref="MLContext.GpuDeviceId"/> / <see cref="MLContext.FallbackToCpu"/> onto the core's engine choice:
    /// a GPU id selects the libtorch engine on that CUDA device; when libtorch cannot be loaded and fallback is allowed,
    /// training stays on the managed engine and the log says why. Options that already name the libtorch engine win.
    /// </summary>
    public static void SelectDevice(ComponentContext context, IChannel channel, VaeTrainerOptions options)
    {
        if (context.GpuDeviceId is not { } gpu || options.Engine == EngineKind.LibTorch)
            return;
        if (context.FallbackToCpu && BackendFactory.LibTorchUnavailableReason() is { } reason)
        {
            channel.Info(MessageSensitivity.None,
                $"GpuDeviceId is {gpu}, but the libtorch engine cannot be loaded, so training runs on the managed engine (FallbackToCpu is true). {reason}");
            return;
        }
        options.Engine = EngineKind.LibTorch;
        options.Device = $"cuda:{gpu}";
        options.FallbackToCpu = context.FallbackToCpu;
    }
}
