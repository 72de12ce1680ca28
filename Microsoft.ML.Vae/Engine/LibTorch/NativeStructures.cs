using System.Runtime.InteropServices;

namespace Microsoft.ML.Vae.Engine.LibTorch;

// Field-for-field mirrors of the structures of native/include/vae_torch.h (the shim static_asserts their sizes).

/// <summary><c>vae_dense_layer</c>: a dense layer as offsets into the flat parameter vector.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeDenseLayer
{
    public long WeightOffset;
    public long BiasOffset;
    public int Inputs;
    public int Outputs;

    public NativeDenseLayer(Model.DenseLayer layer)
    {
        WeightOffset = layer.Weight.Offset;
        BiasOffset = layer.Bias.Offset;
        Inputs = layer.Inputs;
        Outputs = layer.Outputs;
    }
}

/// <summary><c>vae_architecture</c>: the network and where its tensors live in the flat parameter vector.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeArchitecture
{
    public long ParameterCount;
    public NativeDenseLayer* EncoderHidden;
    public NativeDenseLayer* DecoderHidden;
    public NativeDenseLayer EncoderMean;
    public NativeDenseLayer EncoderLogVariance;
    public NativeDenseLayer DecoderOutput;
    public long DecoderLogVarianceOffset;
    public int EncoderHiddenCount;
    public int DecoderHiddenCount;
    public int InputSize;
    public int LatentSize;
    public int Activation;
    public int Decoder;
    public float DecoderVariance;
    public int Reserved;
}

/// <summary><c>vae_adam</c>: one Adam step.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeAdam
{
    public float LearningRate;
    public float Beta1;
    public float Beta2;
    public float Epsilon;
    public long Step;

    public NativeAdam(in AdamSettings settings)
    {
        LearningRate = settings.LearningRate;
        Beta1 = settings.Beta1;
        Beta2 = settings.Beta2;
        Epsilon = settings.Epsilon;
        Step = settings.Step;
    }
}
