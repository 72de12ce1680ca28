namespace Microsoft.ML.Vae.Anomaly;

/// <summary>(v − Mean) / Deviation: puts scores of different units on one scale, fitted on the calibration rows.</summary>
internal readonly record struct Standardization(double Mean, double Deviation)
{
    public static Standardization Fit(IEnumerable<double> values)
    {
        var list = values.ToArray();
        double mean = list.Average();
        double deviation = Math.Sqrt(list.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, list.Length - 1));
        // A constant score carries no ranking; a unit deviation keeps it from dividing by zero.
        return new Standardization(mean, deviation > 1e-12 ? deviation : 1);
    }

    public double Apply(double value) => (value - Mean) / Deviation;

    public void Write(BinaryWriter writer)
    {
        writer.Write(Mean);
        writer.Write(Deviation);
    }

    public static Standardization Read(BinaryReader reader)
    {
        double mean = reader.ReadDouble(), deviation = reader.ReadDouble();
        if (!(deviation > 0) || !double.IsFinite(deviation) || !double.IsFinite(mean))
            throw new InvalidDataException("The detector file's score standardisation is not valid.");
        return new Standardization(mean, deviation);
    }
}
