namespace Microsoft.ML.Vae;

/// <summary>Non-linearity of the hidden layers.</summary>
public enum Activation { Tanh, Relu, Softplus, Identity }

/// <summary>The observation model p(x|z).</summary>
public enum DecoderKind
{
    /// <summary>Independent Bernoulli per feature with logits; data must lie in [0, 1].</summary>
    Bernoulli,
    /// <summary>Independent Gaussian per feature with identity mean output; fixed or learned variance.</summary>
    Gaussian,
}

/// <summary>
/// The architecture and likelihood of a VAE: what a saved model needs to rebuild itself. Training choices live in
/// <see cref="VaeTrainerOptions"/>.
/// </summary>
public sealed class VaeModelOptions
{
    /// <summary>Encoder hidden layer widths, input side first. Default [200, 200] (Burda et al.'s one-layer model).</summary>
    public int[] HiddenSizes { get; set; } = [200, 200];

    /// <summary>Decoder hidden layer widths, latent side first; null mirrors <see cref="HiddenSizes"/>.</summary>
    public int[]? DecoderHiddenSizes { get; set; }

    /// <summary>Number of latent variables: Gaussian dimensions, or categorical variables. Default 50.</summary>
    public int LatentSize { get; set; } = 50;

    /// <summary>Gaussian or categorical latent variables. Default Gaussian.</summary>
    public LatentKind Latent { get; set; } = LatentKind.Gaussian;

    /// <summary>Categorical latents only: classes per variable (the decoder sees LatentSize × CategoryCount one-hot inputs). Default 10.</summary>
    public int CategoryCount { get; set; } = 10;

    /// <summary>The prior p(z). Default standard (N(0, I), or uniform for categorical latents).</summary>
    public PriorKind Prior { get; set; } = PriorKind.Standard;

    /// <summary>VampPrior only: the number of learned pseudo-inputs (mixture components). Default 500.</summary>
    public int PseudoInputCount { get; set; } = 500;

    /// <summary>Hidden-layer non-linearity. Default tanh.</summary>
    public Activation Activation { get; set; } = Activation.Tanh;

    /// <summary>Observation model. Default Bernoulli.</summary>
    public DecoderKind Decoder { get; set; } = DecoderKind.Bernoulli;

    /// <summary>Gaussian decoder only: learn one log-variance per feature (otherwise <see cref="DecoderVariance"/> is fixed).</summary>
    public bool LearnDecoderVariance { get; set; }

    /// <summary>Gaussian decoder only: the fixed variance, or the initial one when learned. Default 1.</summary>
    public float DecoderVariance { get; set; } = 1f;

    internal int[] ResolvedDecoderHiddenSizes => DecoderHiddenSizes ?? HiddenSizes.Reverse().ToArray();

    public VaeModelOptions Clone() => new()
    {
        HiddenSizes = (int[])HiddenSizes.Clone(),
        DecoderHiddenSizes = (int[]?)DecoderHiddenSizes?.Clone(),
        LatentSize = LatentSize,
        Activation = Activation,
        Decoder = Decoder,
        LearnDecoderVariance = LearnDecoderVariance,
        DecoderVariance = DecoderVariance,
        Latent = Latent,
        CategoryCount = CategoryCount,
        Prior = Prior,
        PseudoInputCount = PseudoInputCount,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        ValidateWidths(HiddenSizes, nameof(HiddenSizes));
        if (DecoderHiddenSizes is not null) ValidateWidths(DecoderHiddenSizes, nameof(DecoderHiddenSizes));
        if (LatentSize < 1)
            throw new ArgumentException($"{nameof(LatentSize)} must be at least 1 (got {LatentSize}).", nameof(LatentSize));
        if (!Enum.IsDefined(Activation))
            throw new ArgumentException($"{nameof(Activation)} {(int)Activation} is not a known activation.", nameof(Activation));
        if (!Enum.IsDefined(Decoder))
            throw new ArgumentException($"{nameof(Decoder)} {(int)Decoder} is not a known decoder.", nameof(Decoder));
        if (!(DecoderVariance > 0) || float.IsInfinity(DecoderVariance))
            throw new ArgumentException($"{nameof(DecoderVariance)} must be a positive finite number (got {DecoderVariance}).", nameof(DecoderVariance));
        if (LearnDecoderVariance && Decoder != DecoderKind.Gaussian)
            throw new ArgumentException($"{nameof(LearnDecoderVariance)} applies only to the Gaussian decoder; set {nameof(Decoder)} = Gaussian or turn it off.", nameof(LearnDecoderVariance));
        if (!Enum.IsDefined(Latent))
            throw new ArgumentException($"{nameof(Latent)} {(int)Latent} is not a known latent kind.", nameof(Latent));
        if (Latent == LatentKind.Categorical && CategoryCount < 2)
            throw new ArgumentException($"{nameof(CategoryCount)} must be at least 2 for categorical latents (got {CategoryCount}).", nameof(CategoryCount));
        if (!Enum.IsDefined(Prior))
            throw new ArgumentException($"{nameof(Prior)} {(int)Prior} is not a known prior.", nameof(Prior));
        if (Latent == LatentKind.Categorical && Prior != PriorKind.Standard)
            throw new ArgumentException($"{nameof(Prior)} {Prior} needs Gaussian latents; categorical latents use the uniform prior ({nameof(PriorKind)}.{nameof(PriorKind.Standard)}).", nameof(Prior));
        if (Prior == PriorKind.Vamp && PseudoInputCount < 1)
            throw new ArgumentException($"{nameof(PseudoInputCount)} must be at least 1 for the VampPrior (got {PseudoInputCount}).", nameof(PseudoInputCount));
    }

    private static void ValidateWidths(int[]? widths, string name)
    {
        if (widths is null || widths.Length == 0)
            throw new ArgumentException($"{name} must list at least one hidden layer width (for example [200, 200]); use Activation.Identity for a linear network.", name);
        for (int i = 0; i < widths.Length; i++)
            if (widths[i] < 1)
                throw new ArgumentException($"{name}[{i}] must be at least 1 (got {widths[i]}).", name);
    }
}
