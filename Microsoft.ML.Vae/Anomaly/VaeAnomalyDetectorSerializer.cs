using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Anomaly;

/// <summary>
/// The detector file: magic "MLVAEAD", format version, score settings, threshold, feature scaling, the number of
/// models, then per model the VAE (and the background model) each in the core model format, length-prefixed, the
/// latent Gaussian of the combined score and the reference rows of the latent-neighbour score; then, for an ensemble,
/// each model's score standardisation; and a SHA-256 of everything before it. Version 1 (one model, no count) is
/// still read.
/// </summary>
internal static class VaeAnomalyDetectorSerializer
{
    private static readonly byte[] Magic = "MLVAEAD\0"u8.ToArray();
    public const int FormatVersion = 2;
    private const int HashLength = 32;

    /// <summary>Whether <paramref name="header"/> (a file's first bytes) starts as a detector file does.</summary>
    public static bool HasHeader(ReadOnlySpan<byte> header) => header.StartsWith(Magic);

    public static int HeaderLength => Magic.Length;

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
            writer.Write(detector.Members.Count);
            foreach (var member in detector.Members)
            {
                WriteModel(writer, member.Model);
                writer.Write(member.BackgroundModel is not null);
                if (member.BackgroundModel is not null) WriteModel(writer, member.BackgroundModel);
                writer.Write(member.LatentDistance is not null);
                member.LatentDistance?.Write(writer);
                writer.Write(member.LatentNeighbours is not null);
                member.LatentNeighbours?.Write(writer);
            }
            foreach (var standardization in detector.Standardizations ?? []) standardization.Write(writer);
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
        var members = new List<AnomalyScorer>();
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
            if (!double.IsFinite(threshold)) throw new InvalidDataException($"The detector file's threshold is {threshold}; it must be a finite number.");
            var scaler = reader.ReadBoolean() ? FeatureScaler.Read(reader) : null;
            int count = version >= 2 ? reader.ReadInt32() : 1;
            if (count < 1 || count > reader.BaseStream.Length) throw new InvalidDataException($"The detector file announces {count} models.");
            for (int m = 0; m < count; m++) members.Add(ReadMember(reader, kind));
            var standardizations = count > 1 ? Enumerable.Range(0, count).Select(_ => Standardization.Read(reader)).ToArray() : null;
            if (reader.BaseStream.Position != reader.BaseStream.Length)
                throw new InvalidDataException("The detector file has unexpected data after the models.");
            return new VaeAnomalyDetector(members, standardizations, scaler, kind, sampleCount, seed, threshold);
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException or InvalidDataException)
        {
            foreach (var member in members) member.Dispose();
            throw e as InvalidDataException ?? new InvalidDataException($"The detector file's contents are inconsistent: {e.Message}", e);
        }
    }

    private static AnomalyScorer ReadMember(BinaryReader reader, AnomalyScoreKind kind)
    {
        VaeModel? model = null, background = null;
        try
        {
            model = ReadModel(reader);
            if (reader.ReadBoolean()) background = ReadModel(reader);
            var latentDistance = reader.ReadBoolean() ? LikelihoodAndLatentDistance.Read(reader) : null;
            var latentNeighbours = reader.ReadBoolean() ? LatentNeighbours.Read(reader) : null;
            return new AnomalyScorer(kind, model, background, latentDistance, latentNeighbours);
        }
        catch
        {
            model?.Dispose();
            background?.Dispose();
            throw;
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
