namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// One trained model of a detector and what its score needs besides it: the background model of
/// <see cref="AnomalyScoreKind.LikelihoodRatio"/>, the latent Gaussian of
/// <see cref="AnomalyScoreKind.LikelihoodAndLatentDistance"/> or the reference rows of
/// <see cref="AnomalyScoreKind.LatentNeighbourDistance"/>. A detector holds one per ensemble member.
/// </summary>
internal sealed class AnomalyScorer : IDisposable
{
    public AnomalyScorer(AnomalyScoreKind kind, VaeModel model, VaeModel? backgroundModel = null,
        LikelihoodAndLatentDistance? latentDistance = null, LatentNeighbours? latentNeighbours = null)
    {
        if (kind == AnomalyScoreKind.LikelihoodRatio && backgroundModel is null)
            throw new InvalidDataException("The likelihood-ratio score needs a background model.");
        if (kind == AnomalyScoreKind.LikelihoodAndLatentDistance && latentDistance is null)
            throw new InvalidDataException("The likelihood-and-latent-distance score needs its latent Gaussian.");
        if (kind == AnomalyScoreKind.LatentNeighbourDistance && latentNeighbours is null)
            throw new InvalidDataException("The latent-neighbour score needs its reference rows.");
        if (backgroundModel is not null && backgroundModel.InputSize != model.InputSize)
            throw new InvalidDataException($"The background model takes {backgroundModel.InputSize} features but the model takes {model.InputSize}.");
        if (latentNeighbours is not null && latentNeighbours.Dimensions != 2 * model.LatentSize)
            throw new InvalidDataException($"The latent reference rows have {latentNeighbours.Dimensions} values but the model's encoder gives {2 * model.LatentSize}.");
        if (latentDistance is not null && latentDistance.Latent.Dimensions != model.LatentSize)
            throw new InvalidDataException($"The latent Gaussian has {latentDistance.Latent.Dimensions} dimensions but the model has {model.LatentSize}.");
        Kind = kind;
        Model = model;
        BackgroundModel = backgroundModel;
        LatentDistance = latentDistance;
        LatentNeighbours = latentNeighbours;
    }

    public AnomalyScoreKind Kind { get; }

    public VaeModel Model { get; }

    public VaeModel? BackgroundModel { get; }

    public LikelihoodAndLatentDistance? LatentDistance { get; }

    public LatentNeighbours? LatentNeighbours { get; }

    /// <summary>This model's score of already scaled rows (higher = more anomalous); <paramref name="rowsDone"/> counts finished rows.</summary>
    public float[] Score(FeatureMatrix scaled, int sampleCount, int seed, IProgress<int>? rowsDone, CancellationToken cancellationToken)
    {
        if (Kind == AnomalyScoreKind.LatentNeighbourDistance)
        {
            // Encoder only: no sampling, so the rows are finished in one step.
            var distances = LatentNeighbours!.Score(Model, scaled, cancellationToken);
            rowsDone?.Report(scaled.Rows);
            return distances;
        }
        int passes = BackgroundModel is null ? 1 : 2;
        var logLikelihood = LogLikelihood(Model, scaled, sampleCount, seed,
            rowsDone is null ? null : new ForwardingProgress<int>(done => rowsDone.Report(done / passes)), cancellationToken);
        var scores = new float[scaled.Rows];
        switch (Kind)
        {
            case AnomalyScoreKind.NegativeLogLikelihood:
                for (int i = 0; i < scores.Length; i++) scores[i] = -logLikelihood[i];
                break;
            case AnomalyScoreKind.LikelihoodAndLatentDistance:
                scores = LatentDistance!.Score(Model, scaled, logLikelihood);
                break;
            case AnomalyScoreKind.LikelihoodRatio:
                var background = LogLikelihood(BackgroundModel!, scaled, sampleCount, seed,
                    rowsDone is null ? null : new ForwardingProgress<int>(done => rowsDone.Report((scaled.Rows + done) / passes)), cancellationToken);
                for (int i = 0; i < scores.Length; i++) scores[i] = background[i] - logLikelihood[i];
                break;
            default:
                throw new InvalidOperationException($"Unknown score kind {Kind}.");
        }
        return scores;
    }

    /// <summary>
    /// log p(x) of scaled rows with shared noise: every row draws the same samples, so a row's score (and its verdict)
    /// depends on its values alone, never on the rows scored with it, and the ONNX export reproduces it.
    /// </summary>
    public static float[] LogLikelihood(VaeModel model, FeatureMatrix scaled, int sampleCount, int seed, IProgress<int>? rowsDone, CancellationToken cancellationToken)
    {
        var result = new float[scaled.Rows];
        model.LogLikelihood(scaled.Values, scaled.Rows, result, sampleCount, seed, rowsDone, cancellationToken, sharedNoise: true);
        return result;
    }

    public void Dispose()
    {
        Model.Dispose();
        BackgroundModel?.Dispose();
    }
}
