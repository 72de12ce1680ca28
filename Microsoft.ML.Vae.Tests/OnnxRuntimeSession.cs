using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microsoft.ML.Vae.Tests;

/// <summary>An exported graph loaded in ONNX Runtime (CPU, every graph optimisation on), fed float rows.</summary>
internal sealed class OnnxRuntimeSession : IDisposable
{
    private readonly InferenceSession _session;

    public OnnxRuntimeSession(byte[] model)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 2 };
        _session = new InferenceSession(model, options);
    }

    public IReadOnlyDictionary<string, NodeMetadata> Inputs => _session.InputMetadata;

    public IReadOnlyDictionary<string, NodeMetadata> Outputs => _session.OutputMetadata;

    /// <summary>Runs the graph on <paramref name="rows"/> × <paramref name="columns"/> values (or one row without the batch axis).</summary>
    public Result Run(float[] values, int rows, int columns, string inputName = "Features", bool singleRow = false)
    {
        var shape = singleRow ? new[] { columns } : new[] { rows, columns };
        var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor(inputName, new DenseTensor<float>(values, shape)) };
        using var outputs = _session.Run(inputs);
        return new Result(outputs.ToDictionary(o => o.Name, o => o.Value switch
        {
            Tensor<float> t => (Array)t.ToArray(),
            Tensor<bool> t => t.ToArray(),
            _ => throw new InvalidOperationException($"Unexpected output type of {o.Name}."),
        }), outputs.ToDictionary(o => o.Name, o => ((o.Value as Tensor<float>)?.Dimensions.ToArray() ?? ((Tensor<bool>)o.Value).Dimensions.ToArray())));
    }

    public void Dispose() => _session.Dispose();

    public sealed record Result(Dictionary<string, Array> Values, Dictionary<string, int[]> Shapes)
    {
        public float[] this[string name] => (float[])Values[name];

        public bool[] Labels(string name) => (bool[])Values[name];
    }
}
