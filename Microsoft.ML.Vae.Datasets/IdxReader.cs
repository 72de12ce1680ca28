using System.Buffers.Binary;
using System.IO.Compression;

namespace Microsoft.ML.Vae.Datasets;

/// <summary>Reads IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.</summary>
public static class IdxReader
{
    private const int UnsignedByteType = 0x08;

    /// <summary>Images as rows of grey values scaled to [0, 1] (pixel / 255), one row per image.</summary>
    public static FeatureMatrix ReadImages(string path, int maxCount = int.MaxValue)
    {
        using var stream = Open(path);
        var dimensions = ReadHeader(stream, path, expectedRank: 3);
        int count = Math.Min(dimensions[0], maxCount), pixels = dimensions[1] * dimensions[2];
        var bytes = new byte[(long)count * pixels];
        ReadExactly(stream, bytes, path);
        var values = new float[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) values[i] = bytes[i] / 255f;
        return new FeatureMatrix(values, count, pixels);
    }

    /// <summary>Labels, one byte per item.</summary>
    public static byte[] ReadLabels(string path, int maxCount = int.MaxValue)
    {
        using var stream = Open(path);
        var dimensions = ReadHeader(stream, path, expectedRank: 1);
        var labels = new byte[Math.Min(dimensions[0], maxCount)];
        ReadExactly(stream, labels, path);
        return labels;
    }

    private static Stream Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        Stream file = File.OpenRead(path);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16) : file;
    }

    private static int[] ReadHeader(Stream stream, string path, int expectedRank)
    {
        Span<byte> magic = stackalloc byte[4];
        ReadExactly(stream, magic, path);
        if (magic[0] != 0 || magic[1] != 0 || magic[2] != UnsignedByteType || magic[3] != expectedRank)
            throw new InvalidDataException($"'{path}' is not an IDX file of unsigned bytes with {expectedRank} dimension(s) (magic {Convert.ToHexString(magic)}).");
        var dimensions = new int[expectedRank];
        Span<byte> word = stackalloc byte[4];
        for (int i = 0; i < expectedRank; i++)
        {
            ReadExactly(stream, word, path);
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dimensions[i] < 0) throw new InvalidDataException($"'{path}' declares a negative size.");
        }
        return dimensions;
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string path)
    {
        try { stream.ReadExactly(buffer); }
        catch (EndOfStreamException) { throw new InvalidDataException($"'{path}' is truncated: it holds fewer items than its header declares."); }
    }
}
