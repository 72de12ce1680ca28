using System.Security.Cryptography;
using System.Text;

namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// The detector file: magic "MLVAEAD", format version, score settings, threshold, feature scaling, then the VAE (and
/// the background model) each in the core model format, length-prefixed, the latent Gaussian of the combined score, the reference rows of the latent-neighbour score, and a SHA-256 of everything before it.
/// </summary>
internal static class VaeAnomalyDetectorSerializer
{
    private static readonly byte[] Magic = "MLVAEAD\0"u8.ToArray();
    public const int FormatVersion = 1;
    private const int HashLength = 32;

    public static void Write(VaeAnomalyDetector detector, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write((int)detector.ScoreKind);
            writer.Write(detector.EvaluationSampleCount);
            writer.Write(detector.ScoringSeed);
            writer.Write(detector.Threshold);
            writer.Write(detector.Scaler is not null);
            detector.Scaler?.Write(writer);
            WriteModel(writer, detector.Model);
            writer.Write(detector.BackgroundModel is not null);
            if (detector.BackgroundModel is not null) WriteModel(writer, detector.BackgroundModel);
            writer.Write(detector.LatentDistance is not null);
            detector.LatentDistance?.Write(writer);
            writer.Write(detector.LatentNeighbours is not null);
            detector.LatentNeighbours?.Write(writer);
        }
        var payload = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        stream.Write(payload);
        stream.Write(SHA256.HashData(payload));
    }

    public static VaeAnomalyDetector Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var bytes = copy.GetBuffer().AsSpan(0, (int)copy.Length);
        if (bytes.Length < Magic.Length + sizeof(int) || !bytes[..Magic.Length].SequenceEqual(Magic))
            throw new InvalidDataException("This is not a Microsoft.ML.Vae anomaly detector file (its header is missing or wrong); a bare VaeModel file loads with VaeModel.Load.");
        int version = BitConverter.ToInt32(bytes.Slice(Magic.Length, sizeof(int)));
        if (version < 1 || version > FormatVersion)
            throw new InvalidDataException($"The detector file has format version {version}; this version of Microsoft.ML.Vae reads versions 1 to {FormatVersion}. Upgrade the library to load it.");
        if (bytes.Length < Magic.Length + sizeof(int) + HashLength)
            throw new InvalidDataException("The detector file is truncated.");
        var payload = bytes[..^HashLength];
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(bytes[^HashLength..]))
            throw new InvalidDataException("The detector file is corrupted or truncated (checksum mismatch); save the detector again.");

        using var reader = new BinaryReader(new MemoryStream(payload.ToArray()), Encoding.UTF8);
        VaeModel? model = null, background = null;
        try
        {
            reader.ReadBytes(Magic.Length);
            reader.ReadInt32();
            var kind = (AnomalyScoreKind)reader.ReadInt32();
            if (!Enum.IsDefined(kind)) throw new InvalidDataException($"The detector file names an unknown score kind ({(int)kind}).");
            int sampleCount = reader.ReadInt32();
            if (sampleCount < 1) throw new InvalidDataException($"The detector file's evaluation sample count is {sampleCount}.");
            int seed = reader.ReadInt32();
            double threshold = reader.ReadDouble();
            var scaler = reader.ReadBoolean() ? FeatureScaler.Read(reader) : null;
            model = ReadModel(reader);
            if (reader.ReadBoolean()) background = ReadModel(reader);
            var latentDistance = reader.ReadBoolean() ? LikelihoodAndLatentDistance.Read(reader) : null;
            var latentNeighbours = reader.ReadBoolean() ? LatentNeighbours.Read(reader) : null;
            if (latentNeighbours is not null && latentNeighbours.Dimensions != 2 * model.LatentSize)
                throw new InvalidDataException($"The detector file's latent reference rows have {latentNeighbours.Dimensions} values but its model's encoder gives {2 * model.LatentSize}.");
            if (latentDistance is not null && latentDistance.Latent.Dimensions != model.LatentSize)
                throw new InvalidDataException($"The detector file's latent Gaussian has {latentDistance.Latent.Dimensions} dimensions but its model has {model.LatentSize}.");
            if (reader.BaseStream.Position != reader.BaseStream.Length)
                throw new InvalidDataException("The detector file has unexpected data after the models.");
            if (scaler is not null && scaler.Columns != model.InputSize)
                throw new InvalidDataException($"The detector file's scaling covers {scaler.Columns} features but its model takes {model.InputSize}.");
            if (background is not null && background.InputSize != model.InputSize)
                throw new InvalidDataException($"The detector file's background model takes {background.InputSize} features but its model takes {model.InputSize}.");
            return new VaeAnomalyDetector(model, background, scaler, kind, sampleCount, seed, threshold, latentDistance, latentNeighbours);
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException or InvalidDataException)
        {
            model?.Dispose();
            background?.Dispose();
            throw e as InvalidDataException ?? new InvalidDataException($"The detector file's contents are inconsistent: {e.Message}", e);
        }
    }

    private static void WriteModel(BinaryWriter writer, VaeModel model)
    {
        using var bytes = new MemoryStream();
        model.Save(bytes);
        writer.Write(checked((int)bytes.Length));
        writer.Write(bytes.GetBuffer(), 0, (int)bytes.Length);
    }

    private static VaeModel ReadModel(BinaryReader reader)
    {
        int length = reader.ReadInt32();
        long left = reader.BaseStream.Length - reader.BaseStream.Position;
        if (length < 0 || length > left) throw new InvalidDataException($"The detector file announces a {length}-byte model but holds {left} more bytes.");
        return VaeModel.Load(new MemoryStream(reader.ReadBytes(length)));
    }
}
