using Microsoft.ML.Runtime;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// What a VAE component uses of the MLContext it was made from: its environment (seed, log), the GPU settings, and the
/// Transforms and Data catalogs for the ML.NET components it builds on.
/// </summary>
internal sealed class ComponentContext
{
    public ComponentContext(object catalog)
    {
        Environment = MLNetInternals.GetEnvironment(catalog);
        (GpuDeviceId, FallbackToCpu) = MLNetInternals.GetDeviceSettings(Environment);
        Transforms = MLNetInternals.CreateCatalog<TransformsCatalog>(Environment);
        // ApplyOnnxModel takes the context's GpuDeviceId, and with ONNX Runtime's CPU package ML.NET 5.0.1 then fails
        // (EntryPointNotFoundException) even with FallbackToCpu; the graph runs one row per call, where a GPU gains nothing.
        ScoringTransforms = GpuDeviceId is null ? Transforms : new MLContext().Transforms;
        Data = MLNetInternals.CreateCatalog<DataOperationsCatalog>(Environment);
    }

    public IHostEnvironment Environment { get; }

    /// <summary><see cref="MLContext.GpuDeviceId"/>: selects the libtorch engine for training.</summary>
    public int? GpuDeviceId { get; }

    /// <summary><see cref="MLContext.FallbackToCpu"/>.</summary>
    public bool FallbackToCpu { get; }

    public TransformsCatalog Transforms { get; }

    /// <summary>The catalog the ONNX scorers are built with: always on the CPU.</summary>
    public TransformsCatalog ScoringTransforms { get; }

    public DataOperationsCatalog Data { get; }
}
