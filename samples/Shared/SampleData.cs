using Microsoft.ML.Vae.Datasets;
using Spectre.Console;

namespace Microsoft.ML.Vae.Samples;

/// <summary>Loads Fashion-MNIST for the samples and says where it came from.</summary>
internal static class SampleData
{
    public static FashionMnistData LoadFashionMnist(string? folder)
    {
        var data = FashionMnist.Load(folder);
        if (data.IsBundledSubset)
            AnsiConsole.MarkupLine("[yellow]Fashion-MNIST is not installed[/] (Debian: apt-get install dataset-fashion-mnist, or pass --data FOLDER); " +
                                   $"using the small subset kept in the repository ({Markup.Escape(data.Folder)}: {data.Train.Images.Rows} training and " +
                                   $"{data.Test.Images.Rows} test images). Results are lower than with the full data set.");
        else
            AnsiConsole.MarkupLine($"Fashion-MNIST from {Markup.Escape(data.Folder)}: {data.Train.Images.Rows} training and {data.Test.Images.Rows} test images.");
        return data;
    }

    /// <summary>The rows of <paramref name="images"/> at <paramref name="indices"/>, copied.</summary>
    public static FeatureMatrix Rows(FeatureMatrix images, IReadOnlyList<int> indices)
    {
        var values = new float[indices.Count * images.Columns];
        for (int i = 0; i < indices.Count; i++) images.Row(indices[i]).CopyTo(values.AsSpan(i * images.Columns));
        return new FeatureMatrix(values, indices.Count, images.Columns);
    }
}
