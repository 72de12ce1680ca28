using System.Numerics.Tensors;
using Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.Managed.Layers;

/// <summary>
/// An MLP of dense layers <c>y = x·W + b</c> (W is <c>[in, out]</c>): hidden layers with the model's activation,
/// then linear heads that all read the last hidden layer (the encoder's mean and log-variance, the decoder's output).
/// Weights are read from the shared parameter vector; the activations, the heads' output gradients and the
/// backward buffers belong to this instance, which serves one call at a time.
/// </summary>
internal sealed class DenseStack
{
    private readonly IReadOnlyList<DenseLayer> _hidden;
    private readonly DenseLayer[] _heads;
    private readonly Activation _activation;
    private readonly float[] _parameters;
    private readonly int _threads;
    private readonly float[][] _hiddenOutputs;
    private readonly float[][] _headOutputs;
    private readonly float[][] _headGradients;
    private float[] _gradientA = [], _gradientB = [];
    private float[] _scaledInput = [];
    private float[] _input = [];
    private int _rows;

    public DenseStack(IReadOnlyList<DenseLayer> hidden, DenseLayer[] heads, Activation activation, float[] parameters, int threads)
    {
        _hidden = hidden;
        _heads = heads;
        _activation = activation;
        _parameters = parameters;
        _threads = threads;
        _hiddenOutputs = new float[hidden.Count][];
        for (int i = 0; i < hidden.Count; i++) _hiddenOutputs[i] = [];
        _headOutputs = new float[heads.Length][];
        _headGradients = new float[heads.Length][];
        for (int h = 0; h < heads.Length; h++) _headOutputs[h] = _headGradients[h] = [];
    }

    /// <summary>
    /// Runs the stack on <paramref name="input"/>, <c>[rows, inputs]</c>. The array is kept, not copied, for
    /// <see cref="Backward"/>: the caller must not change it before then. With <paramref name="int16"/> (scoring only,
    /// never before a backward pass) the layers it holds multiply in int16.
    /// </summary>
    public void Forward(float[] input, int rows, Int16StackWeights? int16 = null)
    {
        _input = input;
        _rows = rows;
        float[] x = input;
        for (int i = 0; i < _hidden.Count; i++)
        {
            LayerForward(_hidden[i], x, rows, ref _hiddenOutputs[i], activate: true, int16?.Hidden(i));
            x = _hiddenOutputs[i];
        }
        for (int h = 0; h < _heads.Length; h++) LayerForward(_heads[h], x, rows, ref _headOutputs[h], activate: false, int16?.Head(h));
    }

    /// <summary>The last forward pass's output of head <paramref name="head"/>, <c>[rows, outputs]</c> (the array may be longer).</summary>
    public float[] Output(int head) => _headOutputs[head];

    /// <summary>The buffer for ∂loss/∂(output of <paramref name="head"/>), sized for the last forward pass, for the caller to fill before <see cref="Backward"/>.</summary>
    public float[] OutputGradient(int head)
    {
        Buffers.Ensure(ref _headGradients[head], _rows * _heads[head].Outputs);
        return _headGradients[head];
    }

    /// <summary>
    /// Adds every layer's weight and bias gradients to <paramref name="gradient"/>, given the heads' output gradients
    /// (each row scaled by <paramref name="rowWeights"/> for the weight gradients when given).
    /// </summary>
    public void Backward(float[] gradient, float[]? rowWeights) => BackPropagate(gradient, rowWeights, inputGradient: false);

    /// <summary>
    /// <see cref="Backward"/>, and returns the unscaled ∂/∂input, <c>[rows, inputs]</c> (a buffer
    /// of this stack, valid until its next call).
    /// </summary>
    public float[] BackwardToInput(float[] gradient, float[]? rowWeights) => BackPropagate(gradient, rowWeights, inputGradient: true)!;

    private float[]? BackPropagate(float[] gradient, float[]? rowWeights, bool inputGradient)
    {
        int rows = _rows;
        float[] lastHidden = _hiddenOutputs[^1];
        for (int h = 0; h < _heads.Length; h++)
            LayerBackward(_heads[h], lastHidden, _headGradients[h], rows, gradient, ref _gradientA, rowWeights, accumulateInputGradient: h > 0);
        float[] upstream = _gradientA;
        for (int i = _hidden.Count - 1; i >= 0; i--)
        {
            var layer = _hidden[i];
            ActivationBackward(_hiddenOutputs[i], upstream, rows * layer.Outputs);
            float[] input = i == 0 ? _input : _hiddenOutputs[i - 1];
            if (i == 0 && !inputGradient)
            {
                WeightGradient(layer, input, upstream, rows, gradient, rowWeights, _threads);
                return null;
            }
            ref float[] downstream = ref (upstream == _gradientA ? ref _gradientB : ref _gradientA);
            LayerBackward(layer, input, upstream, rows, gradient, ref downstream, rowWeights);
            upstream = downstream;
        }
        return upstream;
    }

    /// <summary>
    /// output = act(input·W + b), bias and activation applied by the GEMM to each block while it is in cache; in int16
    /// when <paramref name="int16"/> holds the layer's weights.
    /// </summary>
    private void LayerForward(DenseLayer layer, float[] input, int rows, ref float[] output, bool activate, Int16Weights? int16)
    {
        int n = layer.Outputs;
        Buffers.Ensure(ref output, rows * n);
        var epilogue = new GemmBiasActivation(_parameters.AsMemory(layer.Bias.Offset, n), activate ? _activation : Activation.Identity);
        if (int16 is not null)
        {
            Int16Gemm.Multiply(input, rows, int16, output, _threads, epilogue);
            return;
        }
        Gemm.Multiply(Transpose.No, Transpose.No, rows, n, layer.Inputs, 1f,
            input, layer.Inputs, Weights(layer.Weight), n, 0f, output, n, _threads, epilogue);
    }

    /// <summary>
    /// Adds the weight and bias gradients of one layer given ∂loss/∂y, and writes (or adds) the unscaled ∂loss/∂x
    /// into <paramref name="inputGradient"/>.
    /// </summary>
    private void LayerBackward(DenseLayer layer, float[] input, float[] outputGradient, int rows, float[] gradient,
        ref float[] inputGradient, float[]? rowWeights, bool accumulateInputGradient = false)
    {
        if (!accumulateInputGradient) Buffers.Ensure(ref inputGradient, rows * layer.Inputs);
        float[] target = inputGradient;
        void InputGradient(int threads) => Gemm.Multiply(Transpose.No, Transpose.Yes, rows, layer.Inputs, layer.Outputs, 1f,
            outputGradient, layer.Outputs, Weights(layer.Weight), layer.Outputs, accumulateInputGradient ? 1f : 0f,
            target, layer.Inputs, threads);

        if (GemmBlocked.Workers(rows, layer.Inputs, layer.Outputs, _threads) < 2)
        {
            WeightGradient(layer, input, outputGradient, rows, gradient, rowWeights, _threads);
            InputGradient(_threads);
            return;
        }

        // The two products take the same multiply-adds (rows·inputs·outputs), read the same ∂loss/∂y and write
        // different buffers: side by side on half the threads each they beat splitting each one (no operand packed
        // twice, one hand-off instead of two, and a transposed product on one core runs nearer its peak). The results
        // are the same: a product's sums do not depend on its workers.
        int weightThreads = _threads / 2;
        WorkerTeam.Run(2, product =>
        {
            if (product == 0) WeightGradient(layer, input, outputGradient, rows, gradient, rowWeights, weightThreads);
            else InputGradient(_threads - weightThreads);
        });
    }

    /// <summary>
    /// Adds ∂loss/∂W = Xᵀ·diag(w)·∂loss/∂y and ∂loss/∂b = Σ_r w_r ∂loss/∂y_r to the gradient (w = 1 without row weights).
    /// With row weights both come from one product, (diag(w)·[X | 1])ᵀ·∂loss/∂y: the bias follows the weights in the
    /// parameter vector (<see cref="ParameterLayout"/>), and scaling the inputs' rows (inputs + 1 values) costs less
    /// than scaling the output gradient's (a 784-pixel decoder output against 201) and the separate column sums.
    /// </summary>
    private void WeightGradient(DenseLayer layer, float[] input, float[] outputGradient, int rows, float[] gradient, float[]? rowWeights,
        int threads)
    {
        int n = layer.Outputs, inputs = layer.Inputs;
        if (rowWeights is null)
        {
            Gemm.Multiply(Transpose.Yes, Transpose.No, inputs, n, rows, 1f,
                input, inputs, outputGradient, n, 1f, gradient.AsSpan(layer.Weight.Offset, layer.Weight.Length), n, threads);
            AddColumnSums(outputGradient, rows, n, gradient, layer.Bias.Offset, threads);
            return;
        }

        if (layer.Bias.Offset != layer.Weight.Offset + layer.Weight.Length || layer.Bias.Length != n)
            throw new InvalidOperationException($"The bias of {layer.Bias.Name} must follow its weights in the parameter vector.");
        int width = inputs + 1;
        Buffers.Ensure(ref _scaledInput, rows * width);
        float[] scaled = _scaledInput;
        RowRanges.For(threads, rows, (_, start, end) =>
        {
            for (int r = start; r < end; r++)
            {
                TensorPrimitives.Multiply(input.AsSpan(r * inputs, inputs), rowWeights[r], scaled.AsSpan(r * width, inputs));
                scaled[r * width + inputs] = rowWeights[r];
            }
        });
        Gemm.Multiply(Transpose.Yes, Transpose.No, width, n, rows, 1f,
            scaled, width, outputGradient, n, 1f, gradient.AsSpan(layer.Weight.Offset, width * n), n, threads);
    }

    /// <summary>
    /// target[offset + j] += Σ_r values[r, j]: the bias gradient. Workers take column ranges and add rows in order, so
    /// the sums do not depend on the thread count.
    /// </summary>
    private static void AddColumnSums(float[] values, int rows, int columns, float[] target, int offset, int threads)
    {
        const int minimumColumns = 64;
        int workers = Math.Clamp(columns / minimumColumns, 1, threads);
        void Sum(int from, int to)
        {
            var sums = target.AsSpan(offset + from, to - from);
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(sums, values.AsSpan(r * columns + from, to - from), sums);
        }
        if (workers == 1 || rows * columns < 1 << 16) { Sum(0, columns); return; }
        // Column ranges on 16-float boundaries keep each worker's adds whole vectors.
        int width = (columns / workers + 15) & ~15;
        WorkerTeam.Run(workers,
            w => Sum(Math.Min(columns, w * width), w == workers - 1 ? columns : Math.Min(columns, (w + 1) * width)));
    }

    /// <summary>
    /// gradient ⊙= act'(·), from the layer's stored outputs, one contiguous range per worker (an element's factor does
    /// not depend on where a range starts).
    /// </summary>
    private void ActivationBackward(float[] outputs, float[] gradient, int count)
    {
        if (_activation == Activation.Identity) return;
        var activation = _activation;
        RowRanges.For(_threads, count, (_, start, end) =>
            Activations.MultiplyByDerivative(activation, outputs.AsSpan(start, end - start), gradient.AsSpan(start, end - start)));
    }

    private ReadOnlySpan<float> Weights(ParameterTensor tensor) => _parameters.AsSpan(tensor.Offset, tensor.Length);
}
