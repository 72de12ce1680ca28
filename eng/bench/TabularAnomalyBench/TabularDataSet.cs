namespace Microsoft.ML.Vae.TabularAnomalyBench;

/// <summary>
/// One benchmark data set: normal training rows, and test rows labelled normal or with the kind of anomaly they are.
/// <paramref name="Rank"/> is the number of principal components the PCA baselines get: the number of hidden drivers
/// the generator uses (for the hourly set the hour, the daily cycle's sine and cosine, and the load).
/// </summary>
internal sealed record TabularDataSet(string Name, string Description, FeatureMatrix Train, FeatureMatrix Test, string[] TestKinds, int Rank)
{
    public const string Normal = "normal";

    public bool[] IsAnomaly => TestKinds.Select(k => k != Normal).ToArray();

    /// <summary>The anomaly kinds present in the test rows, in order of first appearance.</summary>
    public IEnumerable<string> AnomalyKinds => TestKinds.Where(k => k != Normal).Distinct();
}
