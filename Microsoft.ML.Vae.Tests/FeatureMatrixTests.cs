namespace Microsoft.ML.Vae.Tests;

[TestClass]
public sealed class FeatureMatrixTests
{
    [TestMethod]
    public void FromRowsCopiesEveryRowInOrder()
    {
        float[][] rows = [[1, 2, 3], [4, 5, 6], [7, 8, 9]];
        var matrix = FeatureMatrix.FromRows(rows);
        Assert.AreEqual(3, matrix.Rows);
        Assert.AreEqual(3, matrix.Columns);
        CollectionAssert.AreEqual(new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, matrix.Values);
        rows[1][0] = -1;
        Assert.AreEqual(4, matrix.Values[3], "the matrix holds a copy");
        CollectionAssert.AreEqual(new float[] { 7, 8, 9 }, matrix.ToRows()[2]);
    }

    [TestMethod]
    public void BadRowsAreRejectedNamingTheRow()
    {
        Assert.ThrowsExactly<ArgumentNullException>(() => FeatureMatrix.FromRows(null!));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => FeatureMatrix.FromRows([])).Message, "No rows");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => FeatureMatrix.FromRows([[]])).Message, "Row 0 has no values");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => FeatureMatrix.FromRows([[1f], null!])).Message, "Row 1 is null");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => FeatureMatrix.FromRows([[1f, 2f], [3f]])).Message, "Row 1 has 1 values but row 0 has 2");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new FeatureMatrix(new float[5], 2, 3)).Message, "5 values do not make 2 rows of 3");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new FeatureMatrix([], -1, 3));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new FeatureMatrix([], 0, 0));
    }
}
