using System.Numerics.Tensors;
using Microsoft.ML.Vae.Engine.Managed.Latents;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Engine.Managed.Objectives;

/// <summary>
/// One call's log importance weights, the per-row bounds they give, and the per-sample coefficients of the loss
/// gradient (<see cref="GradientEstimators"/>): <see cref="Model"/> for the decoder and prior, <see cref="Path"/> for
/// the encoder's path derivative, <see cref="Score"/> for its score term.
/// </summary>
internal sealed class ObjectiveWeights
{
    private float[] _logWeights = [];
    private float[] _model = [];
    private float[] _path = [];
    private float[] _score = [];

    /// <summary>log w per sample, <c>[rows·K]</c> (the array may be longer).</summary>
    public float[] LogWeights => _logWeights;

    /// <summary>∂loss/∂log w per sample: the weight of each sample's decoder and prior gradients.</summary>
    public float[] Model => _model;

    /// <summary>The coefficient of each sample's path derivative for the encoder.</summary>
    public float[] Path => _path;

    /// <summary>The coefficient of each sample's ∇_φ log q(z|x).</summary>
    public float[] Score => _score;

    /// <summary>The log-weight buffer, grown to <paramref name="sampleRows"/>, for the latent family to fill.</summary>
    public float[] PrepareLogWeights(int sampleRows)
    {
        Buffers.Ensure(ref _logWeights, sampleRows);
        return _logWeights;
    }

    /// <summary>
    /// Per-row bounds, and the per-sample coefficients: for the analytic-KL ELBO (whose sample term is log p(x|z)
    /// alone) −scale/K for the decoder and the encoder's path.
    /// </summary>
    public void Compute(int rows, int k, in ObjectiveSettings objective, float[] logLikelihoods, ILatentFamily latents,
        Span<float> rowBounds, float gradientScale)
    {
        int sampleRows = rows * k;
        Buffers.Ensure(ref _model, sampleRows);
        Buffers.Ensure(ref _path, sampleRows);
        Buffers.Ensure(ref _score, sampleRows);
        if (objective.AnalyticKl)
        {
            for (int b = 0; b < rows; b++)
                rowBounds[b] = (float)(TensorPrimitives.Sum(logLikelihoods.AsSpan(b * k, k)) / k - latents.AnalyticKl(b));
            _model.AsSpan(0, sampleRows).Fill(-gradientScale / k);
            _path.AsSpan(0, sampleRows).Fill(-gradientScale / k);
            _score.AsSpan(0, sampleRows).Clear();
            return;
        }

        // Without a baseline from the host, row b's is the mean bound of the other rows: independent of its samples, so unbiased.
        bool leaveOneOut = objective.Estimator == GradientEstimator.ScoreFunction && float.IsNaN(objective.ScoreBaseline);
        double sum = 0;
        if (leaveOneOut)
            for (int b = 0; b < rows; b++) sum += LogSpace.LogMeanExp(_logWeights.AsSpan(b * k, k));
        for (int b = 0; b < rows; b++)
        {
            var logWeights = _logWeights.AsSpan(b * k, k);
            float baseline = !leaveOneOut ? objective.ScoreBaseline
                : rows > 1 ? (float)((sum - LogSpace.LogMeanExp(logWeights)) / (rows - 1)) : 0f;
            rowBounds[b] = GradientEstimators.RowWeights(objective, logWeights, gradientScale, baseline,
                _model.AsSpan(b * k, k), _path.AsSpan(b * k, k), _score.AsSpan(b * k, k));
        }
    }
}
