using System.Buffers.Binary;
using System.IO.Compression;

namespace Microsoft.ML.Vae.Reports;

/// <summary>Encodes 8-bit greyscale images as PNG (no filtering, zlib-compressed), for images inlined in reports.</summary>
public static class PngEncoder
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>A PNG of <paramref name="width"/> × <paramref name="height"/> grey bytes, row-major, 0 = black.</summary>
    public static byte[] EncodeGrayscale(ReadOnlySpan<byte> pixels, int width, int height)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"The image must be at least 1×1 (got {width}×{height}).");
        if (pixels.Length != (long)width * height)
            throw new ArgumentException($"{pixels.Length} pixels do not make a {width}×{height} image ({(long)width * height} pixels).", nameof(pixels));
        using var output = new MemoryStream();
        output.Write(Signature);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 0; // colour type: greyscale; compression, filter and interlace methods stay 0
        WriteChunk(output, "IHDR", header);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                for (int y = 0; y < height; y++)
                {
                    zlib.WriteByte(0); // filter type None
                    zlib.Write(pixels.Slice(y * width, width));
                }
            }
            WriteChunk(output, "IDAT", compressed.ToArray());
        }
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    /// <summary>
    /// Grey values in [0, 1] (clipped) drawn as ink on paper (1 = black, as Fashion-MNIST images are usually shown),
    /// as a <c>data:image/png;base64,…</c> URI.
    /// </summary>
    public static string InkDataUri(ReadOnlySpan<float> values, int width, int height)
    {
        var pixels = new byte[values.Length];
        for (int i = 0; i < values.Length; i++)
            pixels[i] = (byte)Math.Round(255 * (1 - Math.Clamp(float.IsNaN(values[i]) ? 0 : values[i], 0f, 1f)));
        return "data:image/png;base64," + Convert.ToBase64String(EncodeGrayscale(pixels, width, height));
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        Span<byte> typeBytes = stackalloc byte[4];
        for (int i = 0; i < 4; i++) typeBytes[i] = (byte)type[i];
        output.Write(typeBytes);
        output.Write(data);
        uint crc = Crc(Crc(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        output.Write(word);
    }

    /// <summary>CRC-32 (ISO 3309, as PNG specifies) continued over <paramref name="data"/>.</summary>
    internal static uint Crc(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
