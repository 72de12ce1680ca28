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
    }

    [TestMethod]
    public void TheConstructorTakesAnyShapeThatFitsItsValues()
    {
        Assert.AreEqual(0, new FeatureMatrix([], 0, 3).Rows, "no rows is a valid (empty) matrix");
        var column = new FeatureMatrix([1f, 2f], 2, 1);
        Assert.AreEqual(2f, column.Row(1)[0]);
        Assert.ThrowsExactly<ArgumentNullException>(() => new FeatureMatrix(null!, 1, 1));
        var count = Assert.ThrowsExactly<ArgumentException>(() => new FeatureMatrix(new float[5], 2, 3));
        StringAssert.Contains(count.Message, "5 values do not make 2 rows of 3 columns (6 values)");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new FeatureMatrix([], -1, 3)).Message, "row count cannot be negative");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new FeatureMatrix([], 0, 0)).Message, "at least one column");
    }
}
