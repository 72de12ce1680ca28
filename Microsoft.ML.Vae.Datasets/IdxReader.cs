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
        long imagePixels = (long)dimensions[1] * dimensions[2];
        if (imagePixels == 0 || imagePixels > Array.MaxLength)
            throw new InvalidDataException($"'{path}' declares images of {dimensions[1]} × {dimensions[2]} pixels; an image needs 1 to {Array.MaxLength:N0} pixels.");
        int pixels = (int)imagePixels, count = Math.Min(dimensions[0], maxCount);
        if ((long)count * pixels > Array.MaxLength)
            throw new InvalidDataException(
                $"'{path}' declares {dimensions[0]:N0} images of {pixels:N0} pixels, more than one array holds ({Array.MaxLength:N0} values): read fewer images.");
        var bytes = ReadUpTo(stream, (long)count * pixels, path);
        var values = new float[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) values[i] = bytes[i] / 255f;
        return new FeatureMatrix(values, count, pixels);
    }

    /// <summary>Labels, one byte per item.</summary>
    public static byte[] ReadLabels(string path, int maxCount = int.MaxValue)
    {
        using var stream = Open(path);
        var dimensions = ReadHeader(stream, path, expectedRank: 1);
        return ReadUpTo(stream, Math.Min(dimensions[0], maxCount), path);
    }

    /// <summary>
    /// The <paramref name="length"/> bytes the header declares, read in pieces so a header that lies about its size
    /// costs no more memory than the file holds.
    /// </summary>
    private static byte[] ReadUpTo(Stream stream, long length, string path)
    {
        const int piece = 1 << 20;
        using var bytes = new MemoryStream();
        var buffer = new byte[piece];
        while (bytes.Length < length)
        {
            var part = buffer.AsSpan(0, (int)Math.Min(piece, length - bytes.Length));
            ReadExactly(stream, part, path);
            bytes.Write(part);
        }
        return bytes.ToArray();
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
        catch (InvalidDataException e) { throw new InvalidDataException($"'{path}' is not a valid gzip file ({e.Message}); download it again.", e); }
    }
}
