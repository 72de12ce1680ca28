using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>Sizes read from a file are checked against the bytes left; values must be finite.</summary>
[TestClass]
public sealed class CheckedReadingTests
{
    private static BinaryReader ReaderAt(byte[] bytes, int position)
    {
        var reader = new BinaryReader(new MemoryStream(bytes));
        reader.BaseStream.Position = position;
        return reader;
    }

    [TestMethod]
    public void ASizeMustFitInTheBytesLeft()
    {
        var reader = ReaderAt(new byte[10], 2); // 8 bytes left
        reader.RequireBytes(2, 4, "items");
        reader.RequireBytes(0, 4, "items");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => reader.RequireBytes(3, 4, "test items")).Message, "3 test items but holds only 8 more bytes");
        Assert.ThrowsExactly<InvalidDataException>(() => reader.RequireBytes(-1, 4, "items"));
        Assert.ThrowsExactly<InvalidDataException>(() => reader.RequireBytes(9, 1, "items"));
        reader.RequireBytes(8, 1, "items");
    }

    [TestMethod]
    public void NonFiniteValuesAreNamedByIndex()
    {
        var bytes = new[] { 1f, 2f, float.NaN }.SelectMany(BitConverter.GetBytes).ToArray();
        CollectionAssert.AreEqual(new[] { 1f, 2f }, ReaderAt(bytes, 0).ReadFiniteSingles(2, "weights"));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ReaderAt(bytes, 0).ReadFiniteSingles(3, "weights")).Message, "weights hold NaN at index 2");
        var doubles = new[] { 1.0, double.PositiveInfinity }.SelectMany(BitConverter.GetBytes).ToArray();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ReaderAt(doubles, 0).ReadFiniteDoubles(2, "means"));
        StringAssert.Contains(e.Message, "means hold");
        StringAssert.Contains(e.Message, "at index 1");
    }
}
