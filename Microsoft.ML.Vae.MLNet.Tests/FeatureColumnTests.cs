using Microsoft.ML.Data;

namespace Microsoft.ML.Vae.MLNet.Tests;

[TestClass]
public sealed class FeatureColumnTests
{
    public sealed class DoubleRow
    {
        [VectorType(TestData.Features)]
        public double[] Features { get; set; } = [];
    }

    public sealed class VariableRow
    {
        public float[] Features { get; set; } = [];
    }

    public sealed class ScalarRow
    {
        public float Features { get; set; }
    }

    public sealed class ShortRow
    {
        [VectorType(6)]
        public float[] Features { get; set; } = [];
    }

    public static IEnumerable<object[]> WrongInputs =>
    [
        [new DoubleRow { Features = new double[TestData.Features] }, "Double"],
        [new VariableRow { Features = new float[TestData.Features] }, "variable size"],
        [new ScalarRow(), "scalar"],
    ];

    [TestMethod]
    [DynamicData(nameof(WrongInputs))]
    public void WrongColumnTypesFailInGetOutputSchemaAndFit(object row, string described)
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, row);
        var estimators = new (string Name, Func<IDataView, object> Fit, Func<SchemaShape, SchemaShape> Shape)[]
        {
            ("VaeEmbed", d => mlContext.Transforms.VaeEmbed("Embedding", "Features", epochs: 1).Fit(d),
                s => mlContext.Transforms.VaeEmbed("Embedding", "Features", epochs: 1).GetOutputSchema(s)),
            ("Iwae", d => mlContext.AnomalyDetection.Trainers.Iwae(epochs: 1).Fit(d),
                s => mlContext.AnomalyDetection.Trainers.Iwae(epochs: 1).GetOutputSchema(s)),
        };
        foreach (var (name, fit, shape) in estimators)
        {
            var schemaError = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => shape(TestData.Shape(data.Schema)), name);
            StringAssert.Contains(schemaError.Message, "'Features' must be a known-size vector of Single");
            StringAssert.Contains(schemaError.Message, described);
            var fitError = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => fit(data), name);
            StringAssert.Contains(fitError.Message, "'Features' must be a known-size vector of Single");
        }
    }

    [TestMethod]
    public void AMissingColumnIsNamed()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(TestData.Normal(10, seed: 1));
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            mlContext.Transforms.VaeEmbed("Embedding", "Pixels").GetOutputSchema(TestData.Shape(data.Schema)));
        StringAssert.Contains(error.Message, "'Pixels' was not found");
        StringAssert.Contains(error.Message, "'Features'");
    }


    private static IDataView Load(MLContext mlContext, object row) => row switch
    {
        DoubleRow r => mlContext.Data.LoadFromEnumerable(new[] { r }),
        VariableRow r => mlContext.Data.LoadFromEnumerable(new[] { r }),
        ScalarRow r => mlContext.Data.LoadFromEnumerable(new[] { r }),
        _ => throw new ArgumentException("Unknown row type.", nameof(row)),
    };
}
