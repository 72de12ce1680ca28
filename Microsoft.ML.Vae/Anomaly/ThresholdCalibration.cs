namespace Microsoft.ML.Vae.Anomaly;

/// <summary>Picks the threshold that flags a given fraction of held-out scores.</summary>
internal static class ThresholdCalibration
{
    /// <summary>
    /// The smallest held-out score that leaves at most ⌊fraction · n⌋ scores above it, so at most that fraction of
    /// rows like the held-out ones are flagged (the resolution is 1/n: fewer rows than 1/fraction flag none).
    /// </summary>
    public static double UpperQuantile(IReadOnlyList<float> scores, double flaggedFraction)
    {
        if (scores.Count == 0) throw new ArgumentException("No scores to calibrate the threshold on: at least one held-out row is needed.", nameof(scores));
        if (!(flaggedFraction > 0 && flaggedFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(flaggedFraction), flaggedFraction, "The flagged fraction must lie in (0, 1), for example 0.01.");
        var sorted = scores.ToArray();
        foreach (float s in sorted)
            if (!float.IsFinite(s)) throw new ArgumentException($"A held-out score is {s}: scores must be finite to calibrate a threshold.", nameof(scores));
        Array.Sort(sorted);
        int allowed = (int)Math.Floor(flaggedFraction * sorted.Length);
        return sorted[sorted.Length - 1 - allowed];
    }
}
