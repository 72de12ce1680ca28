namespace Microsoft.ML.Vae.Engine.LibTorch;

/// <summary>
/// The VAE_* constants of native/include/vae_torch.h for each enumeration that crosses the C interface, mapped value by
/// value (never by cast), so reordering a C# enum cannot change what the shim computes; a test compares every mapping
/// with the value the shim reports for the constant's name (<c>vae_constant</c>).
/// </summary>
internal static class NativeConstants
{
    public static int Of(Activation activation) => activation switch
    {
        Activation.Tanh => 0,
        Activation.Relu => 1,
        Activation.Softplus => 2,
        Activation.Identity => 3,
        _ => throw Unknown(activation),
    };

    public static int Of(DecoderKind decoder) => decoder switch
    {
        DecoderKind.Bernoulli => 0,
        DecoderKind.Gaussian => 1,
        _ => throw Unknown(decoder),
    };

    public static int Of(LatentKind latent) => latent switch
    {
        LatentKind.Gaussian => 0,
        LatentKind.Categorical => 1,
        _ => throw Unknown(latent),
    };

    public static int Of(PriorKind prior) => prior switch
    {
        PriorKind.Standard => 0,
        PriorKind.LearnedGaussian => 1,
        PriorKind.Vamp => 2,
        _ => throw Unknown(prior),
    };

    public static int Of(TrainingObjective objective) => objective switch
    {
        TrainingObjective.Iwae => 0,
        TrainingObjective.Miwae => 1,
        TrainingObjective.Ciwae => 2,
        TrainingObjective.Piwae => 3,
        _ => throw Unknown(objective),
    };

    public static int Of(GradientEstimator estimator) => estimator switch
    {
        GradientEstimator.Reparameterization => 0,
        GradientEstimator.StickingTheLanding => 1,
        GradientEstimator.DoublyReparameterized => 2,
        GradientEstimator.ScoreFunction => 3,
        _ => throw Unknown(estimator),
    };

    private static ArgumentOutOfRangeException Unknown<T>(T value) where T : struct, Enum =>
        new(typeof(T).Name, value, $"{value} has no counterpart in the libtorch shim.");
}
