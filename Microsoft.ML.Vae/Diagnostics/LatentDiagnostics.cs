using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Diagnostics;

/// <summary>
/// How a trained model uses its latent variables over a data set: the KL of each variable's posterior to the prior,
/// averaged over the rows, and the active units of Burda et al. (2016): variables whose posterior mean
/// E_q[z|x] varies across the data, Var_x(E_q[z_d|x]) above a threshold (0.01 in the paper). A collapsed variable
/// has q(z_d|x) ≈ p(z_d) for every x: KL ≈ 0 and an inactive unit.
/// </summary>
public sealed class LatentDiagnostics
{
    /// <summary>Monte Carlo samples per row for the VampPrior's KL, whose per-variable marginal has no closed-form KL.</summary>
    public const int VampKlSamples = 16;

    private LatentDiagnostics(double[] kl, double[] meanVariance, int activeUnits, double threshold)
    {
        KlPerVariable = kl;
        PosteriorMeanVariance = meanVariance;
        ActiveUnits = activeUnits;
        ActivityThreshold = threshold;
    }

    /// <summary>
    /// Per latent variable, in nats: the mean over rows of KL(q(z_d|x) || p(z_d)), with p(z_d) the prior's marginal.
    /// Exact for the standard and learned Gaussian priors and for categorical latents (to the uniform prior); a
    /// Monte Carlo estimate with <see cref="VampKlSamples"/> samples per row for the VampPrior. The sum is the mean
    /// KL(q(z|x) || p(z)) when the prior factorises over the variables.
    /// </summary>
    public IReadOnlyList<double> KlPerVariable { get; }

    /// <summary>Per coordinate of the embedding: the variance over rows of the posterior mean (for categorical latents, of each class probability).</summary>
    public IReadOnlyList<double> PosteriorMeanVariance { get; }

    /// <summary>Variables with a posterior-mean variance above <see cref="ActivityThreshold"/> (categorical: in any of their classes).</summary>
    public int ActiveUnits { get; }

    public double ActivityThreshold { get; }

    /// <summary>
    /// Computes the diagnostics of <paramref name="model"/> over the rows of <paramref name="data"/>;
    /// <paramref name="seed"/> drives the VampPrior's Monte Carlo samples.
    /// </summary>
    public static LatentDiagnostics Compute(VaeModel model, FeatureMatrix data, double activityThreshold = 0.01, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (!(activityThreshold >= 0))
            throw new ArgumentOutOfRangeException(nameof(activityThreshold), activityThreshold, "The activity threshold must be a non-negative number (Burda et al. use 0.01).");
        int rows = data.Rows, width = model.LatentSize;
        var mean = new float[rows * width];
        var logVariance = new float[rows * width];
        model.Embed(data.Values, rows, mean, logVariance);

        var meanVariance = new double[width];
        for (int j = 0; j < width; j++)
        {
            double sum = 0, sumOfSquares = 0;
            for (int r = 0; r < rows; r++) { double m = mean[r * width + j]; sum += m; sumOfSquares += m * m; }
            double average = sum / rows;
            meanVariance[j] = Math.Max(0, sumOfSquares / rows - average * average);
        }

        var layout = model.Layout;
        int variables = layout.LatentVariables, categories = layout.CategoryCount;
        var kl = layout.Latent == LatentKind.Categorical ? CategoricalKl(mean, rows, variables, categories)
            : layout.Prior == PriorKind.Vamp ? VampKl(model, mean, logVariance, rows, seed)
            : GaussianKl(model, mean, logVariance, rows);
        int active = 0;
        for (int v = 0; v < variables; v++)
        {
            bool isActive = false;
            for (int c = 0; c < categories; c++) isActive |= meanVariance[v * categories + c] > activityThreshold;
            if (isActive) active++;
        }
        return new LatentDiagnostics(kl, meanVariance, active, activityThreshold);
    }

    /// <summary>KL(N(μ, σ²) || N(m, s²)) = ½(log s² − log σ² + (σ² + (μ − m)²)/s² − 1) per dimension; N(0, 1) for the standard prior.</summary>
    private static double[] GaussianKl(VaeModel model, float[] mean, float[] logVariance, int rows)
    {
        var layout = model.Layout;
        int d = layout.LatentSize;
        var priorMean = new float[d];
        var priorLogVariance = new float[d];
        if (layout.PriorMean is { } m && layout.PriorLogVariance is { } v)
        {
            model.Parameters.Slice(m.Offset, d).CopyTo(priorMean);
            model.Parameters.Slice(v.Offset, d).CopyTo(priorLogVariance);
        }
        var kl = new double[d];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < d; j++)
            {
                double delta = mean[r * d + j] - priorMean[j];
                double lv = logVariance[r * d + j], priorLv = priorLogVariance[j];
                kl[j] += 0.5 * (priorLv - lv + (Math.Exp(lv) + delta * delta) * Math.Exp(-priorLv) - 1);
            }
        for (int j = 0; j < d; j++) kl[j] /= rows;
        return kl;
    }

    /// <summary>KL(q(h_g|x) || uniform) = Σ_i π_i log π_i + log C per variable, from the class probabilities.</summary>
    private static double[] CategoricalKl(float[] probabilities, int rows, int variables, int categories)
    {
        var kl = new double[variables];
        int width = variables * categories;
        for (int r = 0; r < rows; r++)
            for (int g = 0; g < variables; g++)
            {
                double sum = Math.Log(categories);
                for (int i = 0; i < categories; i++)
                {
                    double p = probabilities[r * width + g * categories + i];
                    if (p > 0) sum += p * Math.Log(p);
                }
                kl[g] += sum;
            }
        for (int g = 0; g < variables; g++) kl[g] /= rows;
        return kl;
    }

    /// <summary>
    /// E_x E_q[log q(z_d|x) − log p_d(z_d)] with p_d(z_d) = (1/C) Σ_c N(z_d; m_cd, s²_cd), the VampPrior's marginal in
    /// dimension d (its components are the encoder's posteriors at the pseudo-inputs).
    /// </summary>
    private static double[] VampKl(VaeModel model, float[] mean, float[] logVariance, int rows, int seed)
    {
        var layout = model.Layout;
        int d = layout.LatentSize;
        var pseudo = layout.PseudoInputs!.Value;
        int components = pseudo.Rows;
        var componentMean = new float[components * d];
        var componentLogVariance = new float[components * d];
        model.Backend.Encode(model.Parameters.Slice(pseudo.Offset, pseudo.Length), components, componentMean, componentLogVariance);

        var kl = new double[d];
        var logComponent = new double[components];
        var random = new RandomSource(seed);
        var eps = new float[VampKlSamples];
        double halfLogTwoPi = 0.5 * LogSpace.LogTwoPi;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < d; j++)
            {
                random.FillNormal(eps);
                double mu = mean[r * d + j], lv = logVariance[r * d + j], sigma = Math.Exp(0.5 * lv);
                foreach (float e in eps)
                {
                    double z = mu + sigma * e;
                    double logQ = -0.5 * (e * e + lv) - halfLogTwoPi;
                    double max = double.NegativeInfinity;
                    for (int c = 0; c < components; c++)
                    {
                        double m = componentMean[c * d + j], v = componentLogVariance[c * d + j];
                        logComponent[c] = -0.5 * ((z - m) * (z - m) * Math.Exp(-v) + v) - halfLogTwoPi;
                        max = Math.Max(max, logComponent[c]);
                    }
                    double sum = 0;
                    for (int c = 0; c < components; c++) sum += Math.Exp(logComponent[c] - max);
                    kl[j] += logQ - (max + Math.Log(sum / components));
                }
            }
        for (int j = 0; j < d; j++) kl[j] /= (double)rows * VampKlSamples;
        return kl;
    }
}
