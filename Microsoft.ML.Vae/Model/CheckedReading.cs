using System.Numerics;

namespace Microsoft.ML.Vae.Model;

/// <summary>
/// Reading sizes and values from a file that may be damaged or hostile: a size is checked against the bytes left before
/// anything of that size is allocated, and values must be finite.
/// </summary>
internal static class CheckedReading
{
    /// <summary>Throws unless <paramref name="count"/> items of <paramref name="itemBytes"/> bytes each fit in what is left.</summary>
    public static void RequireBytes(this BinaryReader reader, long count, long itemBytes, string what)
    {
        long left = reader.BaseStream.Length - reader.BaseStream.Position;
        if (count < 0 || count > left / Math.Max(1, itemBytes))
            throw new InvalidDataException($"The file announces {count} {what} but holds only {left} more bytes.");
    }

    public static float[] ReadFiniteSingles(this BinaryReader reader, int count, string what) => reader.ReadFinite(count, sizeof(float), r => r.ReadSingle(), what);

    public static double[] ReadFiniteDoubles(this BinaryReader reader, int count, string what) => reader.ReadFinite(count, sizeof(double), r => r.ReadDouble(), what);

    private static T[] ReadFinite<T>(this BinaryReader reader, int count, int itemBytes, Func<BinaryReader, T> read, string what) where T : IFloatingPointIeee754<T>
    {
        reader.RequireBytes(count, itemBytes, what);
        var values = new T[count];
        for (int i = 0; i < count; i++)
            if (!T.IsFinite(values[i] = read(reader)))
                throw new InvalidDataException($"The file's {what} hold {values[i]} at index {i}; only finite values are valid (the file was altered or saved from a diverged model).");
        return values;
    }
}
