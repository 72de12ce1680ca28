using System.Collections.Concurrent;
using System.Numerics.Tensors;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>
/// The default engine: the VAE/IWAE forward and backward passes in C#, with the matrix products in <see cref="Gemm"/>
/// and the per-row work split over contiguous row ranges (so results depend on the thread count only).
/// </summary>
internal sealed class ManagedBackend : IVaeBackend
{
    private readonly float[] _parameters;
    private readonly float[] _gradient;
    private readonly AdamOptimizer _adam;
    private readonly int _threads;
    private readonly ConcurrentBag<Workspace> _workspaces = [];
    private ObservationLikelihood _likelihood;

    public ManagedBackend(ParameterLayout layout, int threads)
    {
        Layout = layout;
        _threads = Math.Max(1, threads);
        _parameters = new float[layout.Count];
        _gradient = new float[layout.Count];
        _adam = new AdamOptimizer(layout.Count);
        _likelihood = new ObservationLikelihood(layout, _parameters);
    }

    public string Name => "managed";

    public ParameterLayout Layout { get; }

    public void SetParameters(ReadOnlySpan<float> parameters)
    {
        if (parameters.Length != _parameters.Length)
            throw new ArgumentException($"Expected {_parameters.Length} parameters, got {parameters.Length}.", nameof(parameters));
        parameters.CopyTo(_parameters);
        _adam.Reset();
        _likelihood = new ObservationLikelihood(Layout, _parameters);
    }

    public void GetParameters(Span<float> parameters) => _parameters.CopyTo(parameters);

    public void Gradient(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        Span<float> rowBounds, Span<float> gradient)
    {
        var ws = Rent();
        try
        {
            Forward(ws, x, rows, noise, sampleCount, needGradient: true);
            Bounds(ws, rows, sampleCount, objective, rowBounds, gradientScale: 1f / rows);
            Backward(ws, rows, sampleCount, objective, _gradient);
            _gradient.CopyTo(gradient);
        }
        finally { _workspaces.Add(ws); }
    }

    public void TrainStep(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, in ObjectiveSettings objective,
        in AdamSettings adam, Span<float> rowBounds)
    {
        var ws = Rent();
        try
        {
            Forward(ws, x, rows, noise, sampleCount, needGradient: true);
            Bounds(ws, rows, sampleCount, objective, rowBounds, gradientScale: 1f / rows);
            Backward(ws, rows, sampleCount, objective, _gradient);
        }
        finally { _workspaces.Add(ws); }
        _adam.Step(_parameters, _gradient, adam);
        if (Layout.DecoderLogVariance is not null) _likelihood = new ObservationLikelihood(Layout, _parameters);
    }

    public void Encode(ReadOnlySpan<float> x, int rows, Span<float> mean, Span<float> logVariance)
    {
        var ws = Rent();
        try
        {
            EncoderForward(ws, x, rows);
            int n = rows * Layout.LatentSize;
            ws.Mean.AsSpan(0, n).CopyTo(mean);
            ws.LogVariance.AsSpan(0, n).CopyTo(logVariance);
        }
        finally { _workspaces.Add(ws); }
    }

    public void LogWeights(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int sampleCount, Span<float> logWeights)
    {
        var ws = Rent();
        try
        {
            Forward(ws, x, rows, noise, sampleCount, needGradient: false);
            ws.LogWeight.AsSpan(0, rows * sampleCount).CopyTo(logWeights);
        }
        finally { _workspaces.Add(ws); }
    }

    public void Decode(ReadOnlySpan<float> z, int rows, Span<float> output)
    {
        var ws = Rent();
        try
        {
            Workspace.Ensure(ref ws.Z, z.Length);
            z.CopyTo(ws.Z);
            DecoderForward(ws, rows);
            var result = ws.Output.AsSpan(0, rows * Layout.InputSize);
            if (Layout.Decoder == DecoderKind.Bernoulli) TensorPrimitives.Sigmoid(result, output);
            else result.CopyTo(output);
        }
        finally { _workspaces.Add(ws); }
    }

    public void Dispose() { }

    private Workspace Rent() => _workspaces.TryTake(out var ws) ? ws : new Workspace(Layout, _threads);

    private void EncoderForward(Workspace ws, ReadOnlySpan<float> x, int rows)
    {
        Workspace.Ensure(ref ws.Input, x.Length);
        x.CopyTo(ws.Input);
        float[] input = ws.Input;
        for (int i = 0; i < Layout.EncoderHidden.Count; i++)
        {
            DenseForward(Layout.EncoderHidden[i], input, rows, ref ws.EncoderHidden[i], applyActivation: true);
            input = ws.EncoderHidden[i];
        }
        DenseForward(Layout.EncoderMean, input, rows, ref ws.Mean, applyActivation: false);
        DenseForward(Layout.EncoderLogVariance, input, rows, ref ws.LogVariance, applyActivation: false);
    }

    private void DecoderForward(Workspace ws, int sampleRows)
    {
        float[] input = ws.Z;
        for (int j = 0; j < Layout.DecoderHidden.Count; j++)
        {
            DenseForward(Layout.DecoderHidden[j], input, sampleRows, ref ws.DecoderHidden[j], applyActivation: true);
            input = ws.DecoderHidden[j];
        }
        DenseForward(Layout.DecoderOutput, input, sampleRows, ref ws.Output, applyActivation: false);
    }

    /// <summary>Encoder, reparameterised samples, decoder and the per-sample log weights.</summary>
    private void Forward(Workspace ws, ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> noise, int k, bool needGradient)
    {
        int d = Layout.LatentSize, f = Layout.InputSize, sampleRows = rows * k;
        if (noise.Length != sampleRows * d)
            throw new ArgumentException($"Expected {sampleRows * d} noise values ([{rows}, {k}, {d}]), got {noise.Length}.", nameof(noise));
        EncoderForward(ws, x, rows);
        Workspace.Ensure(ref ws.Noise, noise.Length);
        noise.CopyTo(ws.Noise);
        Workspace.Ensure(ref ws.Z, sampleRows * d);
        Workspace.Ensure(ref ws.Sigma, rows * d);
        ForRows(rows, (_, start, end) =>
        {
            for (int b = start; b < end; b++)
            {
                var sigma = ws.Sigma.AsSpan(b * d, d);
                TensorPrimitives.Multiply(ws.LogVariance.AsSpan(b * d, d), 0.5f, sigma);
                TensorPrimitives.Exp(sigma, sigma);
                var mean = ws.Mean.AsSpan(b * d, d);
                for (int s = b * k; s < (b + 1) * k; s++)
                    TensorPrimitives.FusedMultiplyAdd(ws.Noise.AsSpan(s * d, d), sigma, mean, ws.Z.AsSpan(s * d, d));
            }
        });
        DecoderForward(ws, sampleRows);

        Workspace.Ensure(ref ws.LogPx, sampleRows);
        Workspace.Ensure(ref ws.LogWeight, sampleRows);
        if (needGradient) Workspace.Ensure(ref ws.OutputGradient, sampleRows * f);
        float latentConstant = d * LogSpace.LogTwoPi;
        var likelihood = _likelihood;
        ForRows(sampleRows, (chunk, start, end) =>
        {
            var scratch = ws.Scratch(chunk);
            for (int s = start; s < end; s++)
            {
                int b = s / k;
                var gradient = needGradient ? ws.OutputGradient.AsSpan(s * f, f) : Span<float>.Empty;
                float logPx = likelihood.LogProbability(ws.Input.AsSpan(b * f, f), ws.Output.AsSpan(s * f, f), gradient, scratch);
                var z = ws.Z.AsSpan(s * d, d);
                var eps = ws.Noise.AsSpan(s * d, d);
                float logPz = -0.5f * (TensorPrimitives.SumOfSquares(z) + latentConstant);
                float logQz = -0.5f * (TensorPrimitives.SumOfSquares(eps) + TensorPrimitives.Sum(ws.LogVariance.AsSpan(b * d, d)) + latentConstant);
                ws.LogPx[s] = logPx;
                ws.LogWeight[s] = logPx + logPz - logQz;
            }
        });
    }

    /// <summary>
    /// Per-row bounds, and ∂loss/∂(per-sample term) into <see cref="Workspace.SampleWeight"/>: −scale·softmax(log w)
    /// for L_K, −scale/K for the analytic-KL ELBO (whose sample term is log p(x|z) alone).
    /// </summary>
    private void Bounds(Workspace ws, int rows, int k, in ObjectiveSettings objective, Span<float> rowBounds, float gradientScale)
    {
        Workspace.Ensure(ref ws.SampleWeight, rows * k);
        int d = Layout.LatentSize;
        for (int b = 0; b < rows; b++)
        {
            var weights = ws.SampleWeight.AsSpan(b * k, k);
            if (objective.AnalyticKl)
            {
                var mean = ws.Mean.AsSpan(b * d, d);
                var logVariance = ws.LogVariance.AsSpan(b * d, d);
                double kl = 0;
                for (int j = 0; j < d; j++) kl += 0.5 * (mean[j] * mean[j] + Math.Exp(logVariance[j]) - 1 - logVariance[j]);
                rowBounds[b] = (float)(TensorPrimitives.Sum(ws.LogPx.AsSpan(b * k, k)) / k - kl);
                weights.Fill(-gradientScale / k);
            }
            else
            {
                // Normalised importance weights exp(log w − logsumexp), shifted so that very negative log weights
                // (hundreds of nats on images) do not underflow to 0/0 as an unshifted softmax would.
                var logWeights = ws.LogWeight.AsSpan(b * k, k);
                double logSum = LogSpace.LogSumExp(logWeights);
                rowBounds[b] = (float)(logSum - Math.Log(k));
                for (int i = 0; i < k; i++) weights[i] = (float)(-gradientScale * Math.Exp(logWeights[i] - logSum));
            }
        }
    }

    private void Backward(Workspace ws, int rows, int k, in ObjectiveSettings objective, float[] gradient)
    {
        int d = Layout.LatentSize, f = Layout.InputSize, sampleRows = rows * k;
        Array.Clear(gradient);

        if (Layout.DecoderLogVariance is { } logVarianceTensor)
            AccumulateLogVarianceGradient(ws, sampleRows, gradient.AsSpan(logVarianceTensor.Offset, logVarianceTensor.Length));

        // ∂loss/∂o = (∂loss/∂log w)·(∂log p(x|z)/∂o).
        ForRows(sampleRows, (_, start, end) =>
        {
            for (int s = start; s < end; s++)
                TensorPrimitives.Multiply(ws.OutputGradient.AsSpan(s * f, f), ws.SampleWeight[s], ws.OutputGradient.AsSpan(s * f, f));
        });

        // Decoder, output layer first; the gradient ping-pongs between two buffers.
        float[] upstream = ws.OutputGradient;
        var decoderInputs = ws.DecoderHidden;
        DenseLayer layer = Layout.DecoderOutput;
        for (int j = Layout.DecoderHidden.Count; j >= 0; j--)
        {
            float[] input = j == 0 ? ws.Z : decoderInputs[j - 1];
            ref float[] downstream = ref (upstream == ws.GradientA ? ref ws.GradientB : ref ws.GradientA);
            DenseBackward(layer, input, upstream, sampleRows, gradient, ref downstream);
            upstream = downstream;
            if (j > 0)
            {
                layer = Layout.DecoderHidden[j - 1];
                ActivationBackward(decoderInputs[j - 1], upstream, sampleRows * layer.Outputs);
            }
        }
        float[] latentGradient = upstream; // ∂loss/∂z, [rows·K, d]

        // Prior and entropy terms, then through z = μ + σ·ε to μ and log σ².
        Workspace.Ensure(ref ws.MeanGradient, rows * d);
        Workspace.Ensure(ref ws.LogVarianceGradient, rows * d);
        bool analytic = objective.AnalyticKl;
        float klScale = -ws.SampleWeight[0] * k; // = 1/rows: the analytic KL enters the loss once per row
        ForRows(rows, (chunk, start, end) =>
        {
            var scratch = ws.Scratch(chunk);
            for (int b = start; b < end; b++)
            {
                var meanGradient = ws.MeanGradient.AsSpan(b * d, d);
                var logVarianceGradient = ws.LogVarianceGradient.AsSpan(b * d, d);
                meanGradient.Clear();
                logVarianceGradient.Clear();
                var sigma = ws.Sigma.AsSpan(b * d, d);
                float weightSum = 0;
                for (int s = b * k; s < (b + 1) * k; s++)
                {
                    var dz = latentGradient.AsSpan(s * d, d);
                    float weight = ws.SampleWeight[s];
                    if (!analytic) TensorPrimitives.MultiplyAdd(ws.Z.AsSpan(s * d, d), -weight, dz, dz); // log p(z) = −½|z|²
                    TensorPrimitives.Add(meanGradient, dz, meanGradient);
                    TensorPrimitives.Multiply(dz, ws.Noise.AsSpan(s * d, d), scratch[..d]);
                    TensorPrimitives.Add(logVarianceGradient, scratch[..d], logVarianceGradient);
                    weightSum += weight;
                }
                // dz/d log σ² = ½σε; −log q adds ½ per dimension (its only direct dependence on log σ²).
                TensorPrimitives.Multiply(logVarianceGradient, sigma, logVarianceGradient);
                TensorPrimitives.Multiply(logVarianceGradient, 0.5f, logVarianceGradient);
                if (analytic)
                {
                    var mean = ws.Mean.AsSpan(b * d, d);
                    var logVariance = ws.LogVariance.AsSpan(b * d, d);
                    TensorPrimitives.MultiplyAdd(mean, klScale, meanGradient, meanGradient);
                    for (int j = 0; j < d; j++) logVarianceGradient[j] += klScale * 0.5f * (MathF.Exp(logVariance[j]) - 1);
                }
                else
                {
                    TensorPrimitives.Add(logVarianceGradient, 0.5f * weightSum, logVarianceGradient);
                }
            }
        });

        // Encoder heads, then the hidden layers.
        float[] lastHidden = ws.EncoderHidden[^1];
        ref float[] hiddenGradient = ref ws.GradientA;
        DenseBackward(Layout.EncoderMean, lastHidden, ws.MeanGradient, rows, gradient, ref hiddenGradient);
        DenseBackward(Layout.EncoderLogVariance, lastHidden, ws.LogVarianceGradient, rows, gradient, ref hiddenGradient, accumulateInputGradient: true);
        upstream = hiddenGradient;
        for (int i = Layout.EncoderHidden.Count - 1; i >= 0; i--)
        {
            layer = Layout.EncoderHidden[i];
            ActivationBackward(ws.EncoderHidden[i], upstream, rows * layer.Outputs);
            float[] input = i == 0 ? ws.Input : ws.EncoderHidden[i - 1];
            if (i == 0)
            {
                DenseWeightGradient(layer, input, upstream, rows, gradient);
                break;
            }
            ref float[] downstream = ref (upstream == ws.GradientA ? ref ws.GradientB : ref ws.GradientA);
            DenseBackward(layer, input, upstream, rows, gradient, ref downstream);
            upstream = downstream;
        }
    }

    private void AccumulateLogVarianceGradient(Workspace ws, int sampleRows, Span<float> target)
    {
        int f = Layout.InputSize;
        var scratch = ws.Scratch(0);
        // Sequential in row order: the sum must not depend on scheduling.
        for (int s = 0; s < sampleRows; s++)
            _likelihood.AccumulateLogVarianceGradient(ws.OutputGradient.AsSpan(s * f, f), ws.SampleWeight[s], target, scratch);
    }

    private void DenseForward(DenseLayer layer, float[] input, int rows, ref float[] output, bool applyActivation)
    {
        int n = layer.Outputs;
        Workspace.Ensure(ref output, rows * n);
        Gemm.Multiply(Transpose.No, Transpose.No, rows, n, layer.Inputs, 1f,
            input, layer.Inputs, Weights(layer.Weight), n, 0f, output, n, _threads);
        float[] result = output;
        var bias = _parameters.AsMemory(layer.Bias.Offset, n);
        var activation = Layout.Activation;
        ForRows(rows, (_, start, end) =>
        {
            var span = result.AsSpan(start * n, (end - start) * n);
            var b = bias.Span;
            for (int r = 0; r < end - start; r++) TensorPrimitives.Add(span.Slice(r * n, n), b, span.Slice(r * n, n));
            if (applyActivation) Activations.Apply(activation, span);
        });
    }

    /// <summary>Weight and bias gradients of y = x·W + b given ∂loss/∂y, and ∂loss/∂x into <paramref name="inputGradient"/>.</summary>
    private void DenseBackward(DenseLayer layer, float[] input, float[] outputGradient, int rows, float[] gradient,
        ref float[] inputGradient, bool accumulateInputGradient = false)
    {
        DenseWeightGradient(layer, input, outputGradient, rows, gradient);
        if (!accumulateInputGradient) Workspace.Ensure(ref inputGradient, rows * layer.Inputs);
        Gemm.Multiply(Transpose.No, Transpose.Yes, rows, layer.Inputs, layer.Outputs, 1f,
            outputGradient, layer.Outputs, Weights(layer.Weight), layer.Outputs, accumulateInputGradient ? 1f : 0f,
            inputGradient, layer.Inputs, _threads);
    }

    private void DenseWeightGradient(DenseLayer layer, float[] input, float[] outputGradient, int rows, float[] gradient)
    {
        int n = layer.Outputs;
        Gemm.Multiply(Transpose.Yes, Transpose.No, layer.Inputs, n, rows, 1f,
            input, layer.Inputs, outputGradient, n, 0f, gradient.AsSpan(layer.Weight.Offset, layer.Weight.Length), n, _threads);
        var biasGradient = gradient.AsSpan(layer.Bias.Offset, n);
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(biasGradient, outputGradient.AsSpan(r * n, n), biasGradient);
    }

    private void ActivationBackward(float[] outputs, float[] gradient, int count)
    {
        if (Layout.Activation == Activation.Identity) return;
        var activation = Layout.Activation;
        const int block = 4096;
        ForRows((count + block - 1) / block, (_, start, end) =>
        {
            int from = start * block, to = Math.Min(count, end * block);
            var scratch = new float[Math.Min(block, to - from)];
            for (int i = from; i < to; i += block)
            {
                int length = Math.Min(block, to - i);
                Activations.MultiplyByDerivative(activation, outputs.AsSpan(i, length), gradient.AsSpan(i, length), scratch.AsSpan(0, length));
            }
        });
    }

    private ReadOnlySpan<float> Weights(ParameterTensor tensor) => _parameters.AsSpan(tensor.Offset, tensor.Length);

    /// <summary>Runs body(chunk, start, end) over contiguous row ranges, one per worker.</summary>
    private void ForRows(int rows, Action<int, int, int> body)
    {
        int chunks = Math.Min(_threads, rows);
        if (chunks <= 1) { body(0, 0, rows); return; }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks },
            c => body(c, (int)((long)rows * c / chunks), (int)((long)rows * (c + 1) / chunks)));
    }
}
