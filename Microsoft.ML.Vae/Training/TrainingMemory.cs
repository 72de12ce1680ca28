using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae;

/// <summary>
/// The memory a training run needs, estimated from the options before anything is allocated, so a run too large for
/// the machine fails at once with the option to change instead of being killed hours later (limits in README.md).
/// </summary>
internal static class TrainingMemory
{
    /// <summary>Share of the memory available to the process that one training run may plan to use.</summary>
    private const double UsableShare = 0.9;

    /// <summary>
    /// Bytes of one sample row (one of the batch × K): the engine keeps each decoder layer's activation and its
    /// gradient, the latent buffers (noise, z, σ, their gradients) and, for the VampPrior, the log density and
    /// responsibility of every pseudo-input. (Measured on the managed engine: about 10 KB for the 784-200-200-50 model.)
    /// </summary>
    public static double BytesPerSampleRow(ParameterLayout layout) =>
        sizeof(float) * (2.0 * (layout.DecoderHidden.Sum(l => (double)l.Outputs) + layout.InputSize) + 6.0 * layout.LatentSize + 2.0 * PriorComponents(layout));

    /// <summary>Bytes of one data row in the encoder: each layer's activation and gradient, the latent mean and log-variance.</summary>
    private static double BytesPerEncodedRow(ParameterLayout layout) =>
        sizeof(float) * 2.0 * (layout.EncoderHidden.Sum(l => (double)l.Outputs) + layout.InputSize + 2.0 * layout.LatentSize);

    /// <summary>The parameters, their gradient, Adam's two moments, the best validation epoch's copy and the returned model's copy.</summary>
    private static double ParameterBytes(ParameterLayout layout) => sizeof(float) * 6.0 * layout.Count;

    private static int PriorComponents(ParameterLayout layout) => layout.PseudoInputs?.Rows ?? 1;

    /// <summary>Estimated bytes of training with <paramref name="batchRows"/> rows per step and K samples each.</summary>
    public static double Estimate(ParameterLayout layout, int batchRows, int sampleCount) =>
        (double)batchRows * sampleCount * BytesPerSampleRow(layout)
        + (batchRows + (double)PriorComponents(layout)) * BytesPerEncodedRow(layout)
        + ParameterBytes(layout);

    /// <summary>Throws <see cref="ArgumentException"/> naming the option to lower when the run would not fit in memory.</summary>
    public static void Check(ParameterLayout layout, int batchRows, int sampleCount, long availableBytes)
    {
        double estimate = Estimate(layout, batchRows, sampleCount), limit = UsableShare * availableBytes;
        double widest = Math.Max(Math.Max(layout.InputSize, layout.LatentSize), layout.DecoderHidden.Max(l => l.Outputs));
        if ((double)batchRows * sampleCount * widest > Array.MaxLength)
            throw new ArgumentException(
                $"{nameof(VaeTrainerOptions.SampleCount)}: {batchRows} rows per batch × {sampleCount} samples × {widest} values per sample exceed the " +
                $"{Array.MaxLength:N0} values one array holds; lower {nameof(VaeTrainerOptions.SampleCount)} or {nameof(VaeTrainerOptions.BatchSize)}.",
                nameof(VaeTrainerOptions.SampleCount));
        if (estimate <= limit) return;
        double samples = (double)batchRows * sampleCount * BytesPerSampleRow(layout);
        string option = samples < ParameterBytes(layout) ? (layout.PseudoInputs is null ? nameof(VaeModelOptions.HiddenSizes) : nameof(VaeModelOptions.PseudoInputCount))
            : layout.PseudoInputs is { Rows: > 100 } ? nameof(VaeModelOptions.PseudoInputCount)
            : sampleCount >= batchRows ? nameof(VaeTrainerOptions.SampleCount) : nameof(VaeTrainerOptions.BatchSize);
        throw new ArgumentException(
            $"{option}: training would need about {Format(estimate)} ({batchRows} rows per batch × {sampleCount} samples at {Format(BytesPerSampleRow(layout))} each, " +
            $"{layout.Count:N0} parameters), more than the {Format(limit)} this process can use. Lower {option}, " +
            $"or lower {nameof(VaeTrainerOptions.SampleCount)} × {nameof(VaeTrainerOptions.BatchSize)}.", option);
    }

    /// <summary>The memory the runtime lets this process use (the container's limit where there is one).</summary>
    public static long AvailableBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    private static string Format(double bytes) =>
        bytes >= 1e9 ? $"{bytes / 1e9:G3} GB" : bytes >= 1e6 ? $"{bytes / 1e6:G3} MB" : $"{bytes / 1e3:G3} KB";
}
