using Microsoft.ML.Vae.Model;
using System.Numerics.Tensors;

namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// The <see cref="AnomalyScoreKind.LatentNeighbourDistance"/> score: the encoder output u = [mean, log-variance] of a
/// row, whitened with the training rows' covariance, and the mean Euclidean distance to its k nearest whitened training
/// rows (a Mahalanobis k-nearest-neighbour distance). Brute force over the stored training rows.
/// </summary>
internal sealed class LatentNeighbours
{
    private readonly Whitening _whitening;
    private readonly float[] _reference; // whitened training rows, [count, dimensions]

    public LatentNeighbours(Whitening whitening, float[] reference, int neighbourCount)
    {
        int d = whitening.Dimensions;
        if (reference.Length % d != 0 || reference.Length / d < neighbourCount || neighbourCount < 1)
            throw new InvalidDataException($"A latent neighbour score needs at least {neighbourCount} reference rows of {d} values (got {reference.Length} values).");
        _whitening = whitening;
        _reference = reference;
        NeighbourCount = neighbourCount;
    }

    public int NeighbourCount { get; }

    public int Dimensions => _whitening.Dimensions;

    public Whitening Whitening => _whitening;

    /// <summary>The whitened training rows, <c>[rows, Dimensions]</c>.</summary>
    public ReadOnlySpan<float> Reference => _reference;

    private int ReferenceRows => _reference.Length / Dimensions;

    /// <summary>Keeps the whitened encoder outputs of the (scaled) training rows as the reference set.</summary>
    public static LatentNeighbours Fit(VaeModel model, FeatureMatrix training, int neighbourCount)
    {
        var codes = EncoderOutputs(model, training);
        var whitening = Whitening.Fit(codes);
        return new LatentNeighbours(whitening, whitening.Apply(codes).Values, Math.Min(neighbourCount, training.Rows));
    }

    /// <summary>Mean distance of each (scaled) row to its <see cref="NeighbourCount"/> nearest reference rows.</summary>
    public float[] Score(VaeModel model, FeatureMatrix rows, CancellationToken cancellationToken)
    {
        var white = _whitening.Apply(EncoderOutputs(model, rows));
        int d = Dimensions, k = NeighbourCount, references = ReferenceRows;
        var scores = new float[rows.Rows];
        Parallel.For(0, rows.Rows, new ParallelOptions { CancellationToken = cancellationToken }, () => (new float[d], new float[k]), (r, _, buffers) =>
        {
            var (difference, nearest) = buffers;
            var query = white.Row(r);
            int found = 0;
            for (int i = 0; i < references; i++)
            {
                TensorPrimitives.Subtract(query, _reference.AsSpan(i * d, d), difference);
                float squared = TensorPrimitives.SumOfSquares(difference);
                if (found == k && squared >= nearest[k - 1]) continue;
                // Insertion into the sorted list of the k smallest squared distances so far.
                int position = found < k ? found++ : k - 1;
                while (position > 0 && nearest[position - 1] > squared) { nearest[position] = nearest[position - 1]; position--; }
                nearest[position] = squared;
            }
            double sum = 0;
            for (int j = 0; j < k; j++) sum += Math.Sqrt(nearest[j]);
            scores[r] = (float)(sum / k);
            return buffers;
        }, _ => { });
        return scores;
    }

    public void Write(BinaryWriter writer)
    {
        _whitening.Write(writer);
        writer.Write(NeighbourCount);
        writer.Write(_reference.Length);
        foreach (float v in _reference) writer.Write(v);
    }

    public static LatentNeighbours Read(BinaryReader reader)
    {
        var whitening = Whitening.Read(reader);
        int k = reader.ReadInt32();
        int length = reader.ReadInt32();
        var reference = reader.ReadFiniteSingles(length, "latent reference values");
        return new LatentNeighbours(whitening, reference, k);
    }

    /// <summary>[posterior mean, posterior log-variance] per row, <c>[rows, 2 · LatentSize]</c>.</summary>
    private static FeatureMatrix EncoderOutputs(VaeModel model, FeatureMatrix rows)
    {
        int latent = model.LatentSize;
        var mean = new float[rows.Rows * latent];
        var logVariance = new float[rows.Rows * latent];
        model.Embed(rows.Values, rows.Rows, mean, logVariance);
        var codes = new float[rows.Rows * 2 * latent];
        for (int r = 0; r < rows.Rows; r++)
        {
            mean.AsSpan(r * latent, latent).CopyTo(codes.AsSpan(r * 2 * latent));
            logVariance.AsSpan(r * latent, latent).CopyTo(codes.AsSpan(r * 2 * latent + latent));
        }
        return new FeatureMatrix(codes, rows.Rows, 2 * latent);
    }
}
