namespace Microsoft.ML.Vae.TabularAnomalyBench;

/// <summary>
/// The synthetic data sets, each generated from a seed: normal training rows and a test set of normal rows and
/// anomalies of known kinds.
/// <list type="bullet">
/// <item><c>shift</c>: one sensor offset by 3 to 6 noise standard deviations (0.6 to 1.2 of its normal spread).</item>
/// <item><c>decoupled</c>: one sensor takes its value from another, independent normal row: normal alone, but no
/// longer tied to the factors (a broken correlation).</item>
/// <item><c>drift</c>: one hidden factor 4 to 6 standard deviations out, past the training range; the sensors stay
/// consistent with each other.</item>
/// <item><c>contextual</c> (hourly only): the sensors of another hour (6 to 18 hours away) with the row's own hour:
/// each value, and the sensors together, are normal, only not for that hour.</item>
/// </list>
/// </summary>
internal static class SyntheticData
{
    public const string Shift = "shift", Decoupled = "decoupled", Drift = "drift", Contextual = "contextual";

    public static readonly string[] Names = ["linear", "nonlinear", "hourly", "wide", "wide200"];

    public static TabularDataSet Generate(string name, int seed, int trainRows, int testNormalRows, int anomaliesPerKind)
    {
        var random = new Random(unchecked(seed * 7919 + Array.IndexOf(Names, name)));
        var (system, rank, description) = name switch
        {
            "linear" => (Linear(random, sensors: 10, factors: 3), 3, "10 sensors, linear in 3 factors"),
            "nonlinear" => (NonLinear(random, sensors: 12, factors: 2, linearShare: 0.2), 2, "12 sensors, non-linear in 2 factors"),
            "hourly" => (Hourly(random, sensors: 8), 4, "hour column + 8 sensors driven by the hour and 1 load factor"),
            "wide" => (NonLinear(random, sensors: 60, factors: 6, linearShare: 0.5), 6, "60 sensors, half linear, half non-linear in 6 factors"),
            "wide200" => (NonLinear(random, sensors: 200, factors: 10, linearShare: 0.5), 10, "200 sensors, half linear, half non-linear in 10 factors"),
            _ => throw new ArgumentException($"Unknown data set '{name}'; known: {string.Join(", ", Names)}, pump."),
        };
        if (name.StartsWith("wide", StringComparison.Ordinal)) trainRows = (int)(trainRows * 2.5);
        var train = Enumerable.Range(0, trainRows).Select(_ => system.NormalRow(random)).ToArray();

        var kinds = new List<string>();
        var test = new List<float[]>();
        for (int i = 0; i < testNormalRows; i++) { test.Add(system.NormalRow(random)); kinds.Add(TabularDataSet.Normal); }
        var anomalyKinds = system.HasHour ? new[] { Shift, Decoupled, Drift, Contextual } : [Shift, Decoupled, Drift];
        foreach (var kind in anomalyKinds)
            for (int i = 0; i < anomaliesPerKind; i++) { test.Add(Anomaly(system, kind, random)); kinds.Add(kind); }
        return new TabularDataSet(name, $"{description}, {trainRows} normal training rows", FeatureMatrix.FromRows(train), FeatureMatrix.FromRows(test), kinds.ToArray(), rank);
    }

    private static float[] Anomaly(SensorSystem system, string kind, Random random)
    {
        var factors = system.Factors(random);
        double hour = system.Hour(random);
        int sensor = random.Next(system.SensorCount);
        double sign = random.Next(2) == 0 ? -1 : 1;
        switch (kind)
        {
            case Shift:
            {
                var s = system.Signals(factors, hour, random);
                s[sensor] += sign * SensorSystem.NoiseLevel * (3 + 3 * random.NextDouble());
                return system.Row(s, hour);
            }
            case Decoupled:
            {
                var s = system.Signals(factors, hour, random);
                s[sensor] = system.Signals(system.Factors(random), system.Hour(random), random)[sensor];
                return system.Row(s, hour);
            }
            case Drift:
                factors[random.Next(system.FactorCount)] = sign * (4 + 2 * random.NextDouble());
                return system.Row(system.Signals(factors, hour, random), hour);
            case Contextual:
                return system.Row(system.Signals(factors, (hour + 6 + random.Next(13)) % 24, random), hour);
            default:
                throw new ArgumentException($"Unknown anomaly kind '{kind}'.");
        }
    }

    private static SensorSystem Linear(Random random, int sensors, int factors)
    {
        var weights = RandomDirections(random, sensors, factors);
        return new SensorSystem(factors, sensors, hasHour: false, (f, _) => weights.Select(w => Dot(w, f)).ToArray(), random);
    }

    /// <summary>
    /// Each sensor is one of several monotone or curved functions of a random projection of the factors, or a product
    /// of two factors; <paramref name="linearShare"/> of them are linear.
    /// </summary>
    private static SensorSystem NonLinear(Random random, int sensors, int factors, double linearShare)
    {
        var weights = RandomDirections(random, sensors, factors);
        var shapes = Enumerable.Range(0, sensors).Select(_ => random.NextDouble() < linearShare ? 0 : 1 + random.Next(5)).ToArray();
        var pairs = Enumerable.Range(0, sensors).Select(_ => (random.Next(factors), random.Next(factors - 1))).Select(p => (p.Item1, p.Item2 >= p.Item1 ? p.Item2 + 1 : p.Item2)).ToArray();
        return new SensorSystem(factors, sensors, hasHour: false, (f, _) => Enumerable.Range(0, sensors).Select(j =>
        {
            double u = Dot(weights[j], f);
            return shapes[j] switch
            {
                0 => u,
                1 => Math.Tanh(1.5 * u),
                2 => u * u,
                3 => Math.Exp(0.7 * u),
                4 => u * Math.Abs(u),
                _ => f[pairs[j].Item1] * f[pairs[j].Item2] + 0.5 * u,
            };
        }).ToArray(), random);
    }

    /// <summary>A daily cycle with its own phase and strength per sensor, plus each sensor's response to one load factor.</summary>
    private static SensorSystem Hourly(Random random, int sensors)
    {
        var phase = Enumerable.Range(0, sensors).Select(_ => 2 * Math.PI * random.NextDouble()).ToArray();
        var cycle = Enumerable.Range(0, sensors).Select(_ => 1 + random.NextDouble()).ToArray();
        var load = Enumerable.Range(0, sensors).Select(_ => (random.Next(2) == 0 ? -1 : 1) * (0.3 + 0.7 * random.NextDouble())).ToArray();
        return new SensorSystem(1, sensors, hasHour: true,
            (f, hour) => Enumerable.Range(0, sensors).Select(j => cycle[j] * Math.Sin(2 * Math.PI * hour / 24 + phase[j]) + load[j] * f[0]).ToArray(), random);
    }

    private static double[][] RandomDirections(Random random, int count, int dimension) => Enumerable.Range(0, count).Select(_ =>
    {
        var w = Enumerable.Range(0, dimension).Select(_ => SensorSystem.Gaussian(random)).ToArray();
        double norm = Math.Sqrt(Dot(w, w));
        return w.Select(v => v / norm).ToArray();
    }).ToArray();

    private static double Dot(double[] a, double[] b) => a.Zip(b).Sum(p => p.First * p.Second);
}
