using Microsoft.ML.Vae.Onnx.Protos;
using static Microsoft.ML.Vae.Onnx.OnnxAttribute;

namespace Microsoft.ML.Vae.Onnx;

/// <summary>The ONNX operators (opset <see cref="OnnxModelWriter.Opset"/>) the exporter uses, one method each.</summary>
internal sealed partial class OnnxGraphBuilder
{
    /// <summary>a·b + c for 2-D a and b (b given as stored, or transposed).</summary>
    public string Gemm(string a, string b, string c, bool transposeB = false) =>
        Node("Gemm", [a, b, c], Int("transB", transposeB ? 1 : 0));

    public string MatMul(string a, string b) => Node("MatMul", [a, b]);
    public string Add(string a, string b) => Node("Add", [a, b]);
    public string Sub(string a, string b) => Node("Sub", [a, b]);
    public string Mul(string a, string b) => Node("Mul", [a, b]);
    public string Div(string a, string b) => Node("Div", [a, b]);
    public string Neg(string x) => Node("Neg", [x]);
    public string Exp(string x) => Node("Exp", [x]);
    public string Log(string x) => Node("Log", [x]);
    public string Sqrt(string x) => Node("Sqrt", [x]);
    public string Sigmoid(string x) => Node("Sigmoid", [x]);
    public string Relu(string x) => Node("Relu", [x]);
    public string Abs(string x) => Node("Abs", [x]);
    public string Max(string a, string b) => Node("Max", [a, b]);
    public string Greater(string a, string b) => Node("Greater", [a, b]);
    public string Equal(string a, string b) => Node("Equal", [a, b]);
    public string Clip(string x, string min, string max) => Node("Clip", [x, min, max]);
    public string Cast(string x, TensorProto.Types.DataType to) => Node("Cast", [x], Int("to", (long)to));
    public string Shape(string x) => Node("Shape", [x]);
    public string Reshape(string x, params long[] shape) => Node("Reshape", [x, Int64s(shape)]);
    public string Reshape(string x, string shape) => Node("Reshape", [x, shape]);
    public string Unsqueeze(string x, params long[] axes) => Node("Unsqueeze", [x, Int64s(axes)]);
    public string Squeeze(string x, params long[] axes) => Node("Squeeze", [x, Int64s(axes)]);
    public string Concat(long axis, params string[] inputs) => Node("Concat", inputs, Int("axis", axis));
    public string Slice(string x, string starts, string ends, params long[] axes) => Node("Slice", [x, starts, ends, Int64s(axes)]);
    public string LogSoftmax(string x, long axis) => Node("LogSoftmax", [x], Int("axis", axis));
    public string ArgMax(string x, long axis) => Node("ArgMax", [x], Int("axis", axis), Int("keepdims", 1));

    /// <summary>Values of the <paramref name="k"/> smallest entries along the last axis.</summary>
    public string SmallestValues(string x, long k) => Node("TopK", [x, Int64s(k)], 2, Int("axis", -1), Int("largest", 0), Int("sorted", 1))[0];

    public string Pad(string x, string pads) => Node("Pad", [x, pads]);

    // In opset 17 ReduceSum takes its axes as an input and the other reductions as an attribute.
    public string ReduceSum(string x, params long[] axes) => Node("ReduceSum", [x, Int64s(axes)], Int("keepdims", 0));
    public string ReduceSumSquare(string x, params long[] axes) => Node("ReduceSumSquare", [x], Ints("axes", axes), Int("keepdims", 0));
    public string ReduceMean(string x, params long[] axes) => Node("ReduceMean", [x], Ints("axes", axes), Int("keepdims", 0));
    public string ReduceProd(string x, params long[] axes) => Node("ReduceProd", [x], Ints("axes", axes), Int("keepdims", 0));
    public string ReduceLogSumExp(string x, params long[] axes) => Node("ReduceLogSumExp", [x], Ints("axes", axes), Int("keepdims", 0));

    public string Activation(Activation activation, string x) => activation switch
    {
        Vae.Activation.Tanh => Node("Tanh", [x]),
        Vae.Activation.Relu => Relu(x),
        Vae.Activation.Softplus => Node("Softplus", [x]),
        Vae.Activation.Identity => x,
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };
}
