using System.Diagnostics;

namespace Microsoft.ML.Vae.Tests;

/// <summary>Runs the `vae` program in a fresh process, its output piped (not a terminal).</summary>
internal static class VaeProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string Output => Stdout + Stderr;
    }

    private static string Program()
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string configuration = testDir.Parent!.Name;
        string path = Path.Combine(testDir.Parent.Parent!.Parent!.Parent!.FullName, "Microsoft.ML.Vae.Cli", "bin", configuration, testDir.Name, "vae.dll");
        Assert.IsTrue(File.Exists(path), $"the command line was not built at {path}");
        return path;
    }

    public static Result Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Program());
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return new Result(process.ExitCode, output, stderr.Result);
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Vae.MLNet.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Vae.MLNet.sln not found above the test folder.");
    }

    public static string BundledSubset => Path.Combine(RepositoryRoot(), "data", "fashion-mnist-small");
}
