using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Engine.Managed;

/// <summary>
/// Activation and gradient buffers of one forward/backward pass. Buffers grow to the largest batch seen and are
/// reused; one workspace serves one call at a time (concurrent scoring calls each rent their own).
/// </summary>
internal sealed class Workspace
{
    private readonly float[] _scratch;
    private readonly int _scratchWidth;

    public Workspace(ParameterLayout layout, int threads)
    {
        EncoderHidden = new float[layout.EncoderHidden.Count][];
        DecoderHidden = new float[layout.DecoderHidden.Count][];
        for (int i = 0; i < EncoderHidden.Length; i++) EncoderHidden[i] = [];
        for (int j = 0; j < DecoderHidden.Length; j++) DecoderHidden[j] = [];
        _scratchWidth = layout.MaxWidth;
        _scratch = new float[_scratchWidth * threads];
    }

    public float[] Input = [];
    public readonly float[][] EncoderHidden;
    public float[] Mean = [];
    public float[] LogVariance = [];
    public float[] Sigma = [];
    public float[] Noise = [];
    public float[] Z = [];
    public readonly float[][] DecoderHidden;
    public float[] Output = [];
    public float[] OutputGradient = [];
    public float[] LogPx = [];
    public float[] LogWeight = [];
    public float[] SampleWeight = [];   // ∂loss/∂log w per sample for the decoder and prior (GradientEstimators' "model")
    public float[] PathWeight = [];     // the encoder's path-derivative coefficient per sample
    public float[] ScoreWeight = [];    // the coefficient of ∇_φ log q(z|x) per sample
    public float[] PriorGradient = [];  // ∇_z log p(z) per sample (Gaussian latents)
    public float[] Responsibilities = []; // p(c | z) of the prior's mixture components, [samples, components]
    public float[] LogProbabilities = []; // categorical latents: log π per row
    public float[] Hard = [];           // categorical latents: one-hot samples
    public float[] Relaxed = [];        // categorical latents: Gumbel-Softmax samples
    public float[] ScaledGradient = []; // a layer's output gradient scaled per row, for its weight gradient
    public float[] MeanGradient = [];
    public float[] LogVarianceGradient = [];
    public float[] GradientA = [];
    public float[] GradientB = [];

    /// <summary>Per-worker scratch of the widest layer's size.</summary>
    public Span<float> Scratch(int worker) => _scratch.AsSpan(worker * _scratchWidth, _scratchWidth);

    public static void Ensure(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
    }
}
