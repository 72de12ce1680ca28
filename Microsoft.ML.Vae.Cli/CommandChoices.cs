namespace Microsoft.ML.Vae.Cli;

/// <summary>Options that take one of a few names, shared by the commands.</summary>
internal static class CommandChoices
{
    public static readonly Dictionary<string, ScoringPrecision> PrecisionNames = new()
    {
        ["float32"] = ScoringPrecision.Float32, ["int16"] = ScoringPrecision.Int16,
    };

    public const string PrecisionHelp =
        "Arithmetic of the decoder in the log-likelihood: float32, or int16 (managed engine, x64 with AVX2 or AVX-512; " +
        "about a fifth faster, a thousandth of a nat from float32 on average on Fashion-MNIST).";

    public static T Parse<T>(string option, string text, Dictionary<string, T> names) =>
        names.TryGetValue(text.ToLowerInvariant(), out var value) ? value
            : throw new ArgumentException($"{option} must be one of {string.Join(", ", names.Keys)} (got '{text}').");
}
