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

    /// <summary>
    /// The MLContext behind a catalog (<c>IInternalCatalog.Environment</c> is internal). The components need the context
    /// itself: its GpuDeviceId and FallbackToCpu, and its Transforms catalog for ApplyOnnxModel.
    /// </summary>
    public static MLContext GetContext(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var property = catalog.GetType().GetInterfaces().FirstOrDefault(i => i.FullName == "Microsoft.ML.Data.IInternalCatalog")?.GetProperty("Environment");
        if (property?.GetValue(catalog) is MLContext context)
            return context;
        throw Moved($"the MLContext of {catalog.GetType().Name} (Microsoft.ML.Data.IInternalCatalog.Environment)");
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

    private static NotSupportedException Moved(string what) =>
        new($"Microsoft.ML.Vae.MLNet could not reach {what} in ML.NET {MLNetVersion}: " +
            "it reads this internal member by reflection and the member has changed. Use the ML.NET version named in docs/mlnet.md, " +
            "or update MLNetInternals for this version.");
}
