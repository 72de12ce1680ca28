using Microsoft.ML.Vae.Engine.Managed.Layers;
using Microsoft.ML.Vae.Engine.Managed.Objectives;

namespace Microsoft.ML.Vae.Engine.Managed.Latents;

/// <summary>
/// The posterior q(z|x) of one kind of latent variable, given the encoder's heads: sampling, the log weights' latent
/// terms log p(z) − log q(z|x), the closed-form KL and the backward pass into the encoder's heads. An instance holds
/// one call's samples and buffers.
/// </summary>
internal interface ILatentFamily
{
    /// <summary>The last <see cref="Sample"/>'s z, <c>[rows·K, latent]</c> (the decoder's input; the array may be longer).</summary>
    float[] Samples { get; }

    /// <summary>Draws K samples per row from the encoder's last forward pass, given the noise <c>[rows, K, latent]</c>.</summary>
    void Sample(DenseStack encoder, ReadOnlySpan<float> noise, int rows, int sampleCount, LatentSampling sampling, float temperature);

    /// <summary>
    /// log w = log p(x|z) + log p(z) − log q(z|x) per sample into <paramref name="logWeights"/>; with
    /// <paramref name="needGradient"/>, keeps what <see cref="Backward"/> needs of the prior.
    /// </summary>
    void LogWeights(float[] logLikelihoods, float[] logWeights, bool needGradient);

    /// <summary>KL(q(z|x_row) || p(z)) in closed form (the standard normal, or the uniform categorical prior).</summary>
    double AnalyticKl(int row);

    /// <summary>
    /// Writes ∂loss/∂(the encoder's heads) into the encoder's output gradients, from ∂log p(x|z)/∂z
    /// (<paramref name="latentGradient"/>, which it may overwrite) and the estimator's per-sample coefficients, and
    /// adds the prior's parameter gradients to <paramref name="gradient"/>.
    /// </summary>
    void Backward(DenseStack encoder, ObjectiveWeights weights, float[] latentGradient, in ObjectiveSettings objective,
        float gradientScale, float[] gradient);

    /// <summary>The posterior's mean and log-variance per latent value, <c>[rows, latent]</c>, from the encoder's last forward pass.</summary>
    void Moments(DenseStack encoder, int rows, Span<float> mean, Span<float> logVariance);
}
