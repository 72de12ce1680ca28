using System.Numerics.Tensors;
using Microsoft.ML.Vae.Engine.Managed.Layers;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.Managed.Priors;

/// <summary>
/// The VampPrior (Tomczak and Welling 2018): the mixture of the encoder's posteriors at C learned pseudo-inputs. Owns
/// an encoder pass over the pseudo-inputs, kept from <see cref="Update"/> for the backward pass, which goes from the
/// components' means and log-variances back through the encoder to its weights and the pseudo-inputs.
/// </summary>
internal sealed class VampPrior : GaussianPrior
{
    private readonly float[] _parameters;
    private readonly ParameterTensor _pseudoInputs;
    private readonly int _latent;
    private readonly int _threads;
    private readonly DenseStack _encoder;
    private float[] _encoderInput = [];
    private DiagonalGaussianMixture _mixture;

    public VampPrior(ParameterLayout layout, float[] parameters, int threads)
    {
        _parameters = parameters;
        _pseudoInputs = layout.PseudoInputs!.Value;
        _latent = layout.LatentSize;
        _threads = threads;
        _encoder = new DenseStack(layout.EncoderHidden, [layout.EncoderMean, layout.EncoderLogVariance], layout.Activation, parameters, threads);
        _mixture = Build();
    }

    public override DiagonalGaussianMixture Mixture => _mixture;

    public override bool HasParameters => true;

    public override void Update() => _mixture = Build();

    public override void Backward(float[] points, float[] responsibilities, float[] weights, int sampleRows, float[] gradient)
    {
        var mixture = _mixture;
        int components = mixture.Components, n = components * _latent;
        float[] meanGradient = _encoder.OutputGradient(0), logVarianceGradient = _encoder.OutputGradient(1);
        meanGradient.AsSpan(0, n).Clear();
        logVarianceGradient.AsSpan(0, n).Clear();
        var pointRows = points.AsMemory(0, sampleRows * _latent);
        var responsibilityRows = responsibilities.AsMemory(0, sampleRows * components);
        var weightRows = weights.AsMemory(0, sampleRows);
        RowRanges.For(_threads, components, (_, start, end) =>
            mixture.AccumulateComponentGradients(pointRows.Span, responsibilityRows.Span, weightRows.Span, start, end, meanGradient, logVarianceGradient));
        float[] inputGradient = _encoder.BackwardToInput(gradient, rowWeights: null);
        var pseudoInputGradient = gradient.AsSpan(_pseudoInputs.Offset, _pseudoInputs.Length);
        TensorPrimitives.Add(pseudoInputGradient, inputGradient.AsSpan(0, pseudoInputGradient.Length), pseudoInputGradient);
    }

    private DiagonalGaussianMixture Build()
    {
        int components = _pseudoInputs.Rows, n = components * _latent;
        Buffers.CopyTo(_parameters.AsSpan(_pseudoInputs.Offset, _pseudoInputs.Length), ref _encoderInput);
        _encoder.Forward(_encoderInput, components);
        return new DiagonalGaussianMixture(_encoder.Output(0).AsSpan(0, n).ToArray(), _encoder.Output(1).AsSpan(0, n), components, _latent);
    }
}
