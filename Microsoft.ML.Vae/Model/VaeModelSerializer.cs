using System.Security.Cryptography;
using System.Text;

namespace Microsoft.ML.Vae.Model;

/// <summary>
/// The model file: magic "MLVAE", format version, options, input size, training history and the flat parameters in
/// <see cref="ParameterLayout"/> order (little-endian float32), followed by a SHA-256 of everything before it.
/// Files are written to a temporary file beside the target and moved over it, so a failed save never leaves a
/// half-written file where a good one was. Version 2 adds the latent kind, category count, prior and pseudo-input
/// count after the version 1 options; version 1 files read with their defaults (Gaussian latents, standard prior).
/// </summary>
internal static class VaeModelSerializer
{
    private static readonly byte[] Magic = "MLVAE\r\n\0"u8.ToArray();
    public const int FormatVersion = 2;
    private const int HashLength = 32;

    public static void Save(VaeModel model, string path) => AtomicFile.Write(path, "model", stream => Write(model, stream));

    public static VaeModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"No model file at '{Path.GetFullPath(path)}'.", path);
        using var file = File.OpenRead(path);
        try { return Read(file); }
        catch (InvalidDataException e) { throw new InvalidDataException($"'{Path.GetFullPath(path)}': {e.Message}", e); }
    }

    public static void Write(VaeModel model, Stream stream)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            WriteOptions(writer, model.Options);
            writer.Write(model.InputSize);
            writer.Write(model.Threads);
            writer.Write(model.History.Count);
            foreach (var epoch in model.History)
            {
                writer.Write(epoch.Epoch);
                writer.Write(epoch.TrainingBound);
                writer.Write(epoch.ValidationBound ?? double.NaN);
                writer.Write(epoch.Elapsed.Ticks);
            }
            var parameters = model.Parameters;
            writer.Write(parameters.Length);
            foreach (float p in parameters) writer.Write(p);
        }
        var payload = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        stream.Write(payload);
        stream.Write(SHA256.HashData(payload));
    }

    public static VaeModel Read(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var bytes = copy.GetBuffer().AsSpan(0, (int)copy.Length);
        if (bytes.Length < Magic.Length + sizeof(int) || !bytes[..Magic.Length].SequenceEqual(Magic))
            throw new InvalidDataException("This is not a Microsoft.ML.Vae model file (its header is missing or wrong).");
        int version = BitConverter.ToInt32(bytes.Slice(Magic.Length, sizeof(int)));
        if (version < 1 || version > FormatVersion)
            throw new InvalidDataException($"The model file has format version {version}; this version of Microsoft.ML.Vae reads versions 1 to {FormatVersion}. Upgrade the library to load it.");
        if (bytes.Length < Magic.Length + sizeof(int) + HashLength)
            throw new InvalidDataException("The model file is truncated.");
        var payload = bytes[..^HashLength];
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(bytes[^HashLength..]))
            throw new InvalidDataException("The model file is corrupted or truncated (checksum mismatch); save the model again.");

        using var reader = new BinaryReader(new MemoryStream(payload.ToArray()), Encoding.UTF8);
        try
        {
            reader.ReadBytes(Magic.Length);
            reader.ReadInt32();
            var options = ReadOptions(reader, version);
            int inputSize = reader.ReadInt32();
            int threads = reader.ReadInt32();
            if (threads is < 1 or > VaeTrainerOptions.MaxThreads)
                throw new InvalidDataException($"The model file's thread count is {threads}; valid counts are 1 to {VaeTrainerOptions.MaxThreads}.");
            int epochs = reader.ReadInt32();
            const int epochBytes = sizeof(int) + 2 * sizeof(double) + sizeof(long);
            reader.RequireBytes(epochs, epochBytes, "training epochs");
            var history = new List<EpochSummary>(epochs);
            for (int i = 0; i < epochs; i++)
            {
                int epoch = reader.ReadInt32();
                double training = reader.ReadDouble();
                double validation = reader.ReadDouble();
                history.Add(new EpochSummary(epoch, training, double.IsNaN(validation) ? null : validation, TimeSpan.FromTicks(reader.ReadInt64())));
            }
            options.Validate();
            var layout = new ParameterLayout(options, inputSize);
            int count = reader.ReadInt32();
            if (count != layout.Count)
                throw new InvalidDataException($"The model file holds {count} parameters but its options describe {layout.Count}.");
            var parameters = reader.ReadFiniteSingles(count, "parameters");
            if (reader.BaseStream.Position != reader.BaseStream.Length)
                throw new InvalidDataException("The model file has unexpected data after the parameters.");
            return new VaeModel(options, layout, parameters, history, threads);
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException)
        {
            throw new InvalidDataException($"The model file's contents are inconsistent: {e.Message}", e);
        }
    }

    private static void WriteOptions(BinaryWriter writer, VaeModelOptions options)
    {
        WriteWidths(writer, options.HiddenSizes);
        writer.Write(options.DecoderHiddenSizes is not null);
        if (options.DecoderHiddenSizes is not null) WriteWidths(writer, options.DecoderHiddenSizes);
        writer.Write(options.LatentSize);
        writer.Write((int)options.Activation);
        writer.Write((int)options.Decoder);
        writer.Write(options.LearnDecoderVariance);
        writer.Write(options.DecoderVariance);
        writer.Write((int)options.Latent);
        writer.Write(options.CategoryCount);
        writer.Write((int)options.Prior);
        writer.Write(options.PseudoInputCount);
    }

    private static VaeModelOptions ReadOptions(BinaryReader reader, int version)
    {
        var options = new VaeModelOptions { HiddenSizes = ReadWidths(reader) };
        if (reader.ReadBoolean()) options.DecoderHiddenSizes = ReadWidths(reader);
        options.LatentSize = reader.ReadInt32();
        options.Activation = (Activation)reader.ReadInt32();
        options.Decoder = (DecoderKind)reader.ReadInt32();
        options.LearnDecoderVariance = reader.ReadBoolean();
        options.DecoderVariance = reader.ReadSingle();
        if (version >= 2)
        {
            options.Latent = (LatentKind)reader.ReadInt32();
            options.CategoryCount = reader.ReadInt32();
            options.Prior = (PriorKind)reader.ReadInt32();
            options.PseudoInputCount = reader.ReadInt32();
        }
        return options;
    }

    private static void WriteWidths(BinaryWriter writer, int[] widths)
    {
        writer.Write(widths.Length);
        foreach (int w in widths) writer.Write(w);
    }

    private static int[] ReadWidths(BinaryReader reader)
    {
        int count = reader.ReadInt32();
        if (count < 0 || count > 1024) throw new InvalidDataException($"The model file lists {count} layers.");
        var widths = new int[count];
        for (int i = 0; i < count; i++) widths[i] = reader.ReadInt32();
        return widths;
    }
}
