using System.Reflection;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// The few ML.NET members a component built outside ML.NET needs but ML.NET keeps internal, reached by reflection.
/// Every member fails with a message naming what moved, so an ML.NET upgrade that breaks one is diagnosed at once.
/// </summary>
internal static class MLNetInternals
{
    private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    private static readonly ConstructorInfo? ShapeColumnConstructor = typeof(SchemaShape.Column).GetConstructor(Instance, null,
        [typeof(string), typeof(SchemaShape.Column.VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape)], null);

    /// <summary>The environment (the MLContext's) behind a catalog: <c>IInternalCatalog.Environment</c> is internal.</summary>
    public static IHostEnvironment GetEnvironment(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var property = FindInterface(catalog.GetType(), "Microsoft.ML.Data.IInternalCatalog")?.GetProperty("Environment");
        if (property?.GetValue(catalog) is IHostEnvironment environment)
            return environment;
        throw Moved($"the environment of {catalog.GetType().Name} (Microsoft.ML.Data.IInternalCatalog.Environment)");
    }

    /// <summary>
    /// One of MLContext's catalogs (Transforms, Data) over <paramref name="environment"/>, for the ML.NET components the
    /// VAE components build on: a component holds the context's environment, not the context, and the catalogs'
    /// constructors are internal.
    /// </summary>
    public static TCatalog CreateCatalog<TCatalog>(IHostEnvironment environment)
    {
        var constructor = typeof(TCatalog).GetConstructor(Instance, null, [typeof(IHostEnvironment)], null)
            ?? throw Moved($"the constructor {typeof(TCatalog).Name}(IHostEnvironment)");
        return (TCatalog)constructor.Invoke([environment]);
    }

    /// <summary>
    /// <see cref="MLContext.GpuDeviceId"/> and <see cref="MLContext.FallbackToCpu"/> as seen by a component, which holds
    /// the context's environment, not the context: they live on the internal <c>IHostEnvironmentInternal</c>.
    /// </summary>
    public static (int? GpuDeviceId, bool FallbackToCpu) GetDeviceSettings(IHostEnvironment environment)
    {
        var settings = FindInterface(environment.GetType(), "Microsoft.ML.Runtime.IHostEnvironmentInternal");
        var gpu = settings?.GetProperty(nameof(MLContext.GpuDeviceId));
        var fallback = settings?.GetProperty(nameof(MLContext.FallbackToCpu));
        if (gpu is null || fallback is null)
            throw Moved("MLContext.GpuDeviceId and FallbackToCpu on the environment (Microsoft.ML.Runtime.IHostEnvironmentInternal)");
        return ((int?)gpu.GetValue(environment), (bool)fallback.GetValue(environment)!);
    }

    /// <summary>A column of an estimator's output shape: <see cref="SchemaShape.Column"/>'s constructor is internal.</summary>
    public static SchemaShape.Column CreateShapeColumn(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType)
    {
        if (ShapeColumnConstructor is null)
            throw Moved("the constructor SchemaShape.Column(string, VectorKind, DataViewType, bool, SchemaShape)");
        try
        {
            return (SchemaShape.Column)ShapeColumnConstructor.Invoke([name, kind, itemType, false, null]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    /// <summary>The ML.NET version loaded (its assembly versions are all 1.0.0.0, so the informational one).</summary>
    public static string MLNetVersion =>
        typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "(unknown version)";

    private static Type? FindInterface(Type type, string fullName) =>
        type.GetInterfaces().FirstOrDefault(i => i.FullName == fullName);

    private static NotSupportedException Moved(string what) =>
        new($"Microsoft.ML.Vae.MLNet could not reach {what} in ML.NET {MLNetVersion}: " +
            "it reads this internal member by reflection and the member has changed. Use the ML.NET version named in docs/mlnet.md, " +
            "or update MLNetInternals for this version.");
}
