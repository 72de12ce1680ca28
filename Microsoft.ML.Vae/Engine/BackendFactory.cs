using Microsoft.ML.Vae.Engine.LibTorch;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine;

/// <summary>Creates the engine the options ask for.</summary>
internal static class BackendFactory
{
    public static IVaeBackend Create(ParameterLayout layout, EngineKind engine, int threads, string? device = null, bool fallbackToCpu = true,
        ScoringPrecision scoringPrecision = ScoringPrecision.Float32) =>
        engine switch
        {
            EngineKind.Managed => new ManagedBackend(layout, ManagedThreads(threads), scoringPrecision: scoringPrecision),
            _ when scoringPrecision != ScoringPrecision.Float32 => throw new ArgumentException(
                $"ScoringPrecision.{scoringPrecision} runs on the managed engine only, and this model scores on {engine}: " +
                "use ScoringPrecision.Float32 with that engine, or UseEngine(EngineKind.Managed).", nameof(scoringPrecision)),
            EngineKind.LibTorch => CreateLibTorch(layout, threads, device, fallbackToCpu, () => LibTorchLibrary.Shared),
            _ => throw new ArgumentOutOfRangeException(nameof(engine), engine, "Unknown engine."),
        };

    /// <summary>
    /// The libtorch engine; when its shim or libtorch cannot be loaded and <paramref name="fallbackToCpu"/> allows it,
    /// the managed engine instead, whose <see cref="IVaeBackend.Name"/> (a model's EngineName) says why.
    /// </summary>
    internal static IVaeBackend CreateLibTorch(ParameterLayout layout, int threads, string? device, bool fallbackToCpu, Func<LibTorchLibrary> loadLibrary)
    {
        LibTorchLibrary library;
        try { library = loadLibrary(); }
        catch (DllNotFoundException e) when (fallbackToCpu)
        {
            return new ManagedBackend(layout, ManagedThreads(threads), $"fallback from libtorch, which could not be loaded: {e.Message}");
        }
        return new LibTorchBackend(library, layout, threads, device, fallbackToCpu);
    }

    /// <summary>
    /// The managed engine runs on at most one thread per core: a model saved with the thread count of a larger machine,
    /// or options asking for more threads than there are cores, would only make threads wait for one another (a K = 1
    /// step on 4 threads took twice as long as on 2 on the 2-core build machine). Results do not depend on it.
    /// </summary>
    private static int ManagedThreads(int threads) => Math.Min(threads, Environment.ProcessorCount);

    /// <summary>Why the libtorch engine cannot run in this process (its load error), or null when it can. Loads the shim once.</summary>
    public static string? LibTorchUnavailableReason()
    {
        try
        {
            _ = LibTorchLibrary.Shared;
            return null;
        }
        catch (DllNotFoundException e) { return e.Message; }
    }
}
