using System.Numerics.Tensors;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Engine.Managed.Objectives;

/// <summary>
/// How one row's K log weights turn into its bound and into the coefficients of the loss gradient per sample
/// (docs/estimators.md). Every estimator writes the encoder's gradient as
/// <c>Σ_k path_k·∇_z ℓ(z_k)·∂z_k/∂φ + score_k·∇_φ log q(z_k|x)</c>, with ℓ = log p(x, z) − log q(z|x) and, for
/// the plain reparameterisation trick, the −log q term differentiated in full (the entropy shortcut); the decoder
/// and prior parameters always get <c>Σ_k model_k·∂ℓ(z_k)/∂θ</c>. All coefficients are ∂loss/∂(...) with the loss
/// <c>−scale·Σ_rows bound</c>, so they carry the factor −scale.
/// </summary>
internal static class GradientEstimators
{
    /// <summary>Whether the encoder's path derivative keeps −log q inside ℓ with q's parameters held fixed (STL, DReG).</summary>
    public static bool StopsPosteriorGradient(GradientEstimator estimator) =>
        estimator is GradientEstimator.StickingTheLanding or GradientEstimator.DoublyReparameterized;

    /// <summary>
    /// The row's bound (the decoder's objective: L_K for IWAE and PIWAE, the mean group bound for MIWAE,
    /// β·ELBO + (1 − β)·L_K for CIWAE), and the per-sample coefficients.
    /// <paramref name="baseline"/> is the score-function baseline c (ignored by the other estimators).
    /// </summary>
    public static float RowWeights(in ObjectiveSettings objective, ReadOnlySpan<float> logWeights, float scale, float baseline,
        Span<float> model, Span<float> path, Span<float> score)
    {
        int k = logWeights.Length;
        int groups = objective.Objective is TrainingObjective.Miwae or TrainingObjective.Piwae ? objective.Groups : 1;
        int groupSize = k / groups;

        // Decoder objective and its normalised weights ∂f/∂log w (positive, summing to 1).
        float bound;
        switch (objective.Objective)
        {
            case TrainingObjective.Miwae:
                bound = GroupedSoftmax(logWeights, groups, model);
                break;
            case TrainingObjective.Ciwae:
            {
                float beta = objective.CiwaeBeta;
                bound = (float)(beta * TensorPrimitives.Sum(logWeights) / k + (1 - beta) * LogSpace.LogMeanExp(logWeights));
                LogSpace.Softmax(logWeights, model);
                TensorPrimitives.Multiply(model, 1 - beta, model);
                TensorPrimitives.Add(model, beta / k, model);
                break;
            }
            default: // IWAE; PIWAE's decoder objective
                bound = (float)LogSpace.LogMeanExp(logWeights);
                LogSpace.Softmax(logWeights, model);
                break;
        }

        // Encoder objective weights: PIWAE's encoder maximises MIWAE, every other objective the decoder's.
        float encoderBound = bound;
        if (objective.Objective == TrainingObjective.Piwae) encoderBound = GroupedSoftmax(logWeights, groups, path);
        else model.CopyTo(path);

        switch (objective.Estimator)
        {
            case GradientEstimator.DoublyReparameterized:
                // ∇ of log Σ w through the path only is Σ w̃²·∇ℓ per IWAE term (Tucker et al. 2018): square the
                // normalised weights inside each term, keeping each term's share (1/M, or 1 − β for CIWAE's IWAE part).
                if (objective.Objective == TrainingObjective.Ciwae && objective.CiwaeBeta < 1)
                {
                    float beta = objective.CiwaeBeta;
                    for (int i = 0; i < k; i++)
                    {
                        float normalized = (path[i] - beta / k) / (1 - beta);
                        path[i] = beta / k + (1 - beta) * normalized * normalized;
                    }
                }
                else if (objective.Objective != TrainingObjective.Ciwae)
                {
                    for (int i = 0; i < k; i++) path[i] = groups * path[i] * path[i];
                }
                score.Clear();
                break;
            case GradientEstimator.ScoreFunction:
                // Σ_k (f − c − ∂f/∂log w_k)·∇ log q(z_k): the learning signal of z_k is its own group's term of f.
                for (int i = 0; i < k; i++)
                {
                    float signal = groups == 1 ? encoderBound - baseline : (GroupBound(logWeights, i / groupSize, groupSize) - baseline) / groups;
                    score[i] = -scale * (signal - path[i]);
                }
                path.Clear();
                break;
            default:
                score.Clear();
                break;
        }

        TensorPrimitives.Multiply(model, -scale, model);
        TensorPrimitives.Multiply(path, -scale, path);
        return bound;
    }

    /// <summary>(1/M) Σ_m L_m over M groups, and (1/M)·softmax within each group into <paramref name="weights"/>.</summary>
    private static float GroupedSoftmax(ReadOnlySpan<float> logWeights, int groups, Span<float> weights)
    {
        int size = logWeights.Length / groups;
        double sum = 0;
        for (int m = 0; m < groups; m++)
        {
            var group = logWeights.Slice(m * size, size);
            var target = weights.Slice(m * size, size);
            sum += LogSpace.LogMeanExp(group);
            LogSpace.Softmax(group, target);
            TensorPrimitives.Multiply(target, 1f / groups, target);
        }
        return (float)(sum / groups);
    }

    private static float GroupBound(ReadOnlySpan<float> logWeights, int group, int size) =>
        (float)LogSpace.LogMeanExp(logWeights.Slice(group * size, size));
}
