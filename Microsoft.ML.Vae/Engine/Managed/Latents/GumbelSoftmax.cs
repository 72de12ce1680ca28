using System.Numerics.Tensors;

using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Engine.Managed.Latents;

/// <summary>
/// Categorical latents: G variables of C classes laid out as G consecutive blocks of C values. Samples come from
/// uniform draws u handed in by the host, turned into Gumbel noise g = −log(−log u): the hard sample is
/// one-hot(argmax(log π + g)) (Gumbel-max, an exact draw from q), the relaxed one softmax((log π + g)/τ)
/// (Gumbel-Softmax, Jang et al. 2017; Concrete, Maddison et al. 2017).
/// </summary>
internal static class GumbelSoftmax
{
    // Keeps −log(−log u) finite for u at the ends of the float grid.
    private const float SmallestUniform = 1e-10f, LargestUniform = 1f - 6e-8f;

    /// <summary>log π = log-softmax of each block of <paramref name="logits"/>.</summary>
    public static void LogProbabilities(ReadOnlySpan<float> logits, int categories, Span<float> logProbabilities)
    {
        for (int g = 0; g < logits.Length; g += categories)
        {
            var block = logits.Slice(g, categories);
            var target = logProbabilities.Slice(g, categories);
            float logSum = (float)Mathematics.LogSpace.LogSumExp(block);
            TensorPrimitives.Subtract(block, logSum, target);
        }
    }

    /// <summary>
    /// One sample of every variable: the hard one-hot into <paramref name="hard"/> and, when
    /// <paramref name="relaxed"/> is not empty, the relaxed sample at temperature <paramref name="temperature"/>.
    /// Returns log q(hard) = Σ_g log π_{g, h_g}.
    /// </summary>
    public static float Sample(ReadOnlySpan<float> logProbabilities, ReadOnlySpan<float> uniforms, int categories, float temperature,
        Span<float> hard, Span<float> relaxed)
    {
        float logQ = 0;
        for (int g = 0; g < logProbabilities.Length; g += categories)
        {
            int best = 0;
            float bestValue = float.NegativeInfinity;
            for (int i = 0; i < categories; i++)
            {
                float perturbed = logProbabilities[g + i] - NegatedGumbel(uniforms[g + i]);
                if (perturbed > bestValue) { bestValue = perturbed; best = i; }
                if (!relaxed.IsEmpty) relaxed[g + i] = perturbed / temperature;
            }
            var hardBlock = hard.Slice(g, categories);
            hardBlock.Clear();
            hardBlock[best] = 1;
            logQ += logProbabilities[g + best];
            if (!relaxed.IsEmpty) LogSpace.Softmax(relaxed.Slice(g, categories), relaxed.Slice(g, categories));
        }
        return logQ;
    }

    /// <summary>−g = log(−log u) for a uniform draw u: the perturbed log-probability is log π − this (the ONNX export stores it per draw).</summary>
    public static float NegatedGumbel(float u) => MathF.Log(-MathF.Log(Math.Clamp(u, SmallestUniform, LargestUniform)));

    /// <summary>Adds ∂/∂logits of the relaxed sample's upstream gradient: (1/τ)·y ⊙ (dy − ⟨y, dy⟩) per block.</summary>
    public static void AccumulateRelaxedGradient(ReadOnlySpan<float> relaxed, ReadOnlySpan<float> upstream, int categories, float temperature,
        Span<float> logitGradient)
    {
        for (int g = 0; g < relaxed.Length; g += categories)
        {
            var y = relaxed.Slice(g, categories);
            var dy = upstream.Slice(g, categories);
            float inner = TensorPrimitives.Dot(y, dy);
            for (int i = 0; i < categories; i++) logitGradient[g + i] += y[i] * (dy[i] - inner) / temperature;
        }
    }

    /// <summary>Adds weight·∇_logits log q(hard) = weight·(hard − π).</summary>
    public static void AccumulateScore(ReadOnlySpan<float> logProbabilities, ReadOnlySpan<float> hard, float weight, Span<float> logitGradient)
    {
        for (int i = 0; i < hard.Length; i++) logitGradient[i] += weight * (hard[i] - MathF.Exp(logProbabilities[i]));
    }

    /// <summary>
    /// KL(q || uniform) = Σ_g (Σ_i π_i log π_i + log C); adds weight·∂KL/∂logits = weight·π_i (log π_i − Σ_j π_j log π_j).
    /// </summary>
    public static double KlToUniform(ReadOnlySpan<float> logProbabilities, int categories, float weight, Span<float> logitGradient)
    {
        double kl = 0;
        float logCategories = MathF.Log(categories);
        for (int g = 0; g < logProbabilities.Length; g += categories)
        {
            var logP = logProbabilities.Slice(g, categories);
            float negativeEntropy = 0;
            for (int i = 0; i < categories; i++) negativeEntropy += MathF.Exp(logP[i]) * logP[i];
            kl += negativeEntropy + logCategories;
            if (logitGradient.IsEmpty) continue;
            for (int i = 0; i < categories; i++) logitGradient[g + i] += weight * MathF.Exp(logP[i]) * (logP[i] - negativeEntropy);
        }
        return kl;
    }

    /// <summary>Mean of the one-hot z under q (π) and its log-variance log(π(1 − π)), with log(1 − π) from the other classes.</summary>
    public static void Moments(ReadOnlySpan<float> logProbabilities, int categories, Span<float> mean, Span<float> logVariance, Span<float> scratch)
    {
        for (int g = 0; g < logProbabilities.Length; g += categories)
        {
            var logP = logProbabilities.Slice(g, categories);
            for (int i = 0; i < categories; i++)
            {
                var others = scratch[..(categories - 1)];
                logP[..i].CopyTo(others);
                logP[(i + 1)..].CopyTo(others[i..]);
                mean[g + i] = MathF.Exp(logP[i]);
                logVariance[g + i] = logP[i] + (float)Mathematics.LogSpace.LogSumExp(others);
            }
        }
    }
}
