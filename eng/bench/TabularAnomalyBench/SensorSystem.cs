namespace Microsoft.ML.Vae.TabularAnomalyBench;

/// <summary>
/// A synthetic plant: hidden factors (standard normal) and, optionally, an observed hour of the day drive a set of
/// sensors through fixed random mixing functions. Each sensor's noise-free signal is standardised over the normal
/// operating range, gets Gaussian noise of standard deviation <see cref="NoiseLevel"/>, and is reported in its own
/// units (a random offset and scale, so columns differ by orders of magnitude as real sensors do).
/// </summary>
internal sealed class SensorSystem
{
    public const double NoiseLevel = 0.2;
    private const int NormalisationDraws = 20_000;

    private readonly Func<double[], double, double[]> _mix;
    private readonly double[] _signalMean, _signalScale, _offset, _unit;

    /// <param name="mix">Noise-free (unstandardised) sensor signals from the factors and the hour.</param>
    public SensorSystem(int factorCount, int sensorCount, bool hasHour, Func<double[], double, double[]> mix, Random random)
    {
        FactorCount = factorCount;
        SensorCount = sensorCount;
        HasHour = hasHour;
        _mix = mix;
        _offset = Enumerable.Range(0, sensorCount).Select(_ => -50 + 250 * random.NextDouble()).ToArray();
        _unit = Enumerable.Range(0, sensorCount).Select(_ => Math.Pow(10, -1 + 3.5 * random.NextDouble())).ToArray();
        var sum = new double[sensorCount];
        var squares = new double[sensorCount];
        for (int i = 0; i < NormalisationDraws; i++)
        {
            var s = mix(Factors(random), Hour(random));
            for (int j = 0; j < sensorCount; j++) { sum[j] += s[j]; squares[j] += s[j] * s[j]; }
        }
        _signalMean = sum.Select(v => v / NormalisationDraws).ToArray();
        _signalScale = squares.Select((v, j) => Math.Sqrt(Math.Max(1e-12, v / NormalisationDraws - _signalMean[j] * _signalMean[j]))).ToArray();
    }

    public int FactorCount { get; }

    public int SensorCount { get; }

    /// <summary>Whether the hour of the day is the first column.</summary>
    public bool HasHour { get; }

    public int Columns => SensorCount + (HasHour ? 1 : 0);

    public double[] Factors(Random random) => Enumerable.Range(0, FactorCount).Select(_ => Gaussian(random)).ToArray();

    public double Hour(Random random) => HasHour ? random.Next(24) : 0;

    /// <summary>Standardised, noisy sensor signals of one operating point.</summary>
    public double[] Signals(double[] factors, double hour, Random random)
    {
        var s = _mix(factors, hour);
        for (int j = 0; j < s.Length; j++) s[j] = (s[j] - _signalMean[j]) / _signalScale[j] + NoiseLevel * Gaussian(random);
        return s;
    }

    /// <summary>The row as reported: the hour (if any), then each sensor in its units.</summary>
    public float[] Row(double[] signals, double hour)
    {
        var row = new float[Columns];
        int first = HasHour ? 1 : 0;
        if (HasHour) row[0] = (float)hour;
        for (int j = 0; j < SensorCount; j++) row[first + j] = (float)(_offset[j] + _unit[j] * signals[j]);
        return row;
    }

    public float[] NormalRow(Random random)
    {
        double hour = Hour(random);
        return Row(Signals(Factors(random), hour, random), hour);
    }

    public static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
