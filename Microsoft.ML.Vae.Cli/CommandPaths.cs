namespace Microsoft.ML.Vae.Cli;

/// <summary>Checks of the files a command reads and writes, made before any work so a mistake costs no training time.</summary>
internal static class CommandPaths
{
    /// <summary>An existing, readable file (not a folder).</summary>
    public static void CheckInput(string path, string option)
    {
        if (Directory.Exists(path)) throw new ArgumentException($"{option} '{path}' is a folder; give a file.");
        if (!File.Exists(path)) throw new FileNotFoundException($"{option}: there is no file at '{Path.GetFullPath(path)}'.");
        try { File.OpenRead(path).Dispose(); }
        catch (UnauthorizedAccessException) { throw new UnauthorizedAccessException($"{option}: '{Path.GetFullPath(path)}' cannot be read (permission denied)."); }
    }

    /// <summary>A file name (not a folder) in an existing folder this process can write to.</summary>
    public static void CheckOutput(string path, string option)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new ArgumentException($"{option} '{path}' is a folder; give a file name, for example '{Path.Combine(path, "model.vae")}'.");
        string folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{option}: the folder '{folder}' does not exist; create it or choose another.");
        try
        {
            using var probe = new FileStream(Path.Combine(folder, $".vae-{Guid.NewGuid():N}.probe"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (UnauthorizedAccessException)
        {
            throw new UnauthorizedAccessException($"{option}: cannot write in the folder '{folder}' (permission denied); choose another folder.");
        }
    }

    /// <summary>Refuses to write <paramref name="output"/> over a file the command reads.</summary>
    public static void CheckDistinct(string output, string outputOption, string input, string inputOption)
    {
        if (SameFile(output, input))
            throw new ArgumentException($"{outputOption} names the same file as {inputOption} ('{Path.GetFullPath(input)}'); writing it would destroy the input. Choose another {outputOption}.");
    }

    private static bool SameFile(string a, string b) => Resolve(a) == Resolve(b);

    private static string Resolve(string path)
    {
        var file = new FileInfo(path);
        return (file.Exists ? file.ResolveLinkTarget(returnFinalTarget: true)?.FullName : null) ?? file.FullName;
    }
}
