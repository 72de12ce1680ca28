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
    public float[] SampleWeight = [];
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
