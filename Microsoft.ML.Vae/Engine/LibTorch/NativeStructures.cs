using System.Runtime.InteropServices;

namespace Microsoft.ML.Vae.Engine.LibTorch;

// Field-for-field mirrors of the structures of native/include/vae_torch.h (the shim static_asserts their sizes, and a
// test compares them with the sizes vae_structure_size reports).

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
    public int Latent;
    public int CategoryCount;
    public int Prior;
    public int PseudoInputCount;
    public int Reserved;
    public long PriorMeanOffset;
    public long PriorLogVarianceOffset;
    public long PseudoInputOffset;
}

/// <summary><c>vae_objective</c>: what a gradient or training call optimises.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeObjective
{
    public int Objective;
    public int Groups;
    public float CiwaeBeta;
    public int Estimator;
    public float ScoreBaseline;
    public float Temperature;
    public int StraightThrough;
    public int AnalyticKl;

    public NativeObjective(in ObjectiveSettings settings)
    {
        Objective = NativeConstants.Of(settings.Objective);
        Groups = settings.Groups;
        CiwaeBeta = settings.CiwaeBeta;
        Estimator = NativeConstants.Of(settings.Estimator);
        ScoreBaseline = settings.ScoreBaseline;
        Temperature = settings.Temperature;
        StraightThrough = settings.StraightThrough ? 1 : 0;
        AnalyticKl = settings.AnalyticKl ? 1 : 0;
    }
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

/// <summary><c>vae_loop_settings</c>: the device loop's data, batches, random streams, objective and Adam settings.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeLoopSettings
{
    public long Rows;
    public int BatchSize;
    public int Samples;
    public int Seed;
    public int DynamicBinarization;
    public long ShuffleStream;
    public long BinarizationStream;
    public long NoiseStream;
    public NativeObjective Objective;
    public float LearningRate;
    public float Beta1;
    public float Beta2;
    public float Epsilon;
}

/// <summary><c>vae_loop_report</c>: what one run of the device loop reads back.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeLoopReport
{
    public double BoundSum;
    public double ParameterSum;
    public double LastBatchBoundSum;
    public long Rows;
}
