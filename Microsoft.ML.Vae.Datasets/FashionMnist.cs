namespace Microsoft.ML.Vae.Datasets;

/// <summary>One split of Fashion-MNIST: images as rows of grey values in [0, 1] and their class labels (0-9).</summary>
public sealed record LabeledImages(FeatureMatrix Images, byte[] Labels);

/// <summary>Where Fashion-MNIST was loaded from, and the two splits.</summary>
public sealed record FashionMnistData(string Folder, bool IsBundledSubset, LabeledImages Train, LabeledImages Test);

/// <summary>
/// Locates and reads Fashion-MNIST: a given folder, else Debian's dataset-fashion-mnist location, else the small
/// subset kept in this repository (data/fashion-mnist-small), so samples run on a machine with only the .NET SDK.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's dataset-fashion-mnist package installs the IDX files.</summary>
    public const string SystemFolder = "/usr/share/datasets/fashion-mnist";

    public static readonly string[] ClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Loads the folder given, or (when null) the system folder if it holds the files, else the bundled subset.
    /// Throws <see cref="DirectoryNotFoundException"/> with the ways to get the data when nothing is found.
    /// </summary>
    public static FashionMnistData Load(string? folder = null, int maxTrain = int.MaxValue, int maxTest = int.MaxValue)
    {
        string? chosen = folder;
        bool bundled = false;
        if (chosen is null)
        {
            if (HasFiles(SystemFolder)) chosen = SystemFolder;
            else if (FindBundledSubset() is { } subset) { chosen = subset; bundled = true; }
        }
        if (chosen is null || !HasFiles(chosen))
            throw new DirectoryNotFoundException(
                $"Fashion-MNIST was not found{(folder is null ? "" : $" in '{folder}'")}. Install it with 'sudo apt-get install dataset-fashion-mnist' " +
                $"(files go to {SystemFolder}), or download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz " +
                "and t10k-labels-idx1-ubyte.gz from the Fashion-MNIST project into a folder and pass that folder.");
        return new FashionMnistData(chosen, bundled,
            new LabeledImages(IdxReader.ReadImages(File(chosen, "train-images-idx3-ubyte"), maxTrain), IdxReader.ReadLabels(File(chosen, "train-labels-idx1-ubyte"), maxTrain)),
            new LabeledImages(IdxReader.ReadImages(File(chosen, "t10k-images-idx3-ubyte"), maxTest), IdxReader.ReadLabels(File(chosen, "t10k-labels-idx1-ubyte"), maxTest)));
    }

    private static bool HasFiles(string folder) =>
        new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" }
            .All(name => System.IO.File.Exists(Path.Combine(folder, name + ".gz")) || System.IO.File.Exists(Path.Combine(folder, name)));

    private static string File(string folder, string name)
    {
        string gz = Path.Combine(folder, name + ".gz");
        return System.IO.File.Exists(gz) ? gz : Path.Combine(folder, name);
    }

    /// <summary>data/fashion-mnist-small in the repository, found by walking up from the working folder and the app folder.</summary>
    private static string? FindBundledSubset()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data", "fashion-mnist-small");
                if (HasFiles(candidate)) return candidate;
            }
        }
        return null;
    }
}
