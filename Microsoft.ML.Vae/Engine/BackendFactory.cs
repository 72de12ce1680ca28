using Microsoft.ML.Vae.Engine.LibTorch;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine;

/// <summary>Creates the engine the options ask for.</summary>
internal static class BackendFactory
{
    public static IVaeBackend Create(ParameterLayout layout, EngineKind engine, int threads, string? device = null, bool fallbackToCpu = true) =>
        engine switch
        {
            EngineKind.Managed => new ManagedBackend(layout, threads),
            EngineKind.LibTorch => new LibTorchBackend(layout, threads, device, fallbackToCpu),
            _ => throw new ArgumentOutOfRangeException(nameof(engine), engine, "Unknown engine."),
        };
}
