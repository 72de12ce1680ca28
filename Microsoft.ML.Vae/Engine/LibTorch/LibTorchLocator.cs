using System.Diagnostics;

namespace Microsoft.ML.Vae.Engine.LibTorch;

/// <summary>
/// Finds the native shim and, when asked, the libtorch it should bind to. The shim is looked for in
/// <c>VAE_NATIVE_PATH</c> (a file or a folder), next to the assembly, then in <c>native/build</c> of the folders above
/// the assembly (a source checkout). libtorch itself is found by the shim's run path, unless <c>LIBTORCH</c> or
/// <c>LIBTORCH_USE_PYTORCH=1</c> name one: then its libraries are loaded first, so the shim binds to them.
/// </summary>
internal static class LibTorchLocator
{
    public const string NativePathVariable = "VAE_NATIVE_PATH";
    public const string LibTorchVariable = "LIBTORCH";
    public const string UsePyTorchVariable = "LIBTORCH_USE_PYTORCH";
    public const string PythonVariable = "PYTHON";

    private const string HowToBuild =
        "Build it with eng/build-native.sh, which finds libtorch through LIBTORCH=<a libtorch folder>, LIBTORCH_USE_PYTORCH=1 " +
        "(the torch package of python3, or of PYTHON=<interpreter>; how a CUDA PyTorch is used) or the system's libtorch " +
        "(Debian/Ubuntu: apt-get install libtorch-dev)";

    public static string ShimFileName => PlatformFileName("vae_torch");

    /// <summary>Where the shim may be, in search order.</summary>
    public static IEnumerable<string> ShimCandidates()
    {
        var candidates = new List<string>();
        string? nativePath = Environment.GetEnvironmentVariable(NativePathVariable);
        if (!string.IsNullOrEmpty(nativePath))
            candidates.Add(Directory.Exists(nativePath) ? Path.Combine(nativePath, ShimFileName) : nativePath);
        var assemblyFolders = new[] { Path.GetDirectoryName(typeof(LibTorchLocator).Assembly.Location), AppContext.BaseDirectory }
            .Where(folder => !string.IsNullOrEmpty(folder)).Select(folder => Path.GetFullPath(folder!)).Distinct().ToList();
        candidates.AddRange(assemblyFolders.Select(folder => Path.Combine(folder, ShimFileName)));
        foreach (var folder in assemblyFolders)
            for (var directory = new DirectoryInfo(folder); directory is not null; directory = directory.Parent)
                candidates.Add(Path.Combine(directory.FullName, "native", "build", ShimFileName));
        return candidates.Distinct();
    }

    /// <summary>The first candidate that exists; otherwise a <see cref="DllNotFoundException"/> naming every remedy.</summary>
    public static string FindShim(IEnumerable<string> candidates)
    {
        var searched = new List<string>();
        foreach (var candidate in candidates)
        {
            if (File.Exists(candidate)) return candidate;
            searched.Add(candidate);
        }
        throw new DllNotFoundException(
            $"The libtorch engine needs its native shim {ShimFileName}, which was not found (searched: {string.Join(", ", searched)}). " +
            $"{HowToBuild}; then it is found in native/build. Or set {NativePathVariable} to the shim or to the folder that holds it, " +
            "or copy it next to Microsoft.ML.Vae.dll; or use EngineKind.Managed. See docs/libtorch.md.");
    }

    /// <summary>Advice for a shim that exists but does not load (typically: libtorch is not where it was at build time).</summary>
    public static string LoadRemedies =>
        $"{HowToBuild}, on this machine, against the libtorch it should use; or set {LibTorchVariable} or {UsePyTorchVariable}=1 " +
        "so that libtorch's libraries are loaded from there first. See docs/libtorch.md.";

    /// <summary>
    /// With <c>LIBTORCH</c> or <c>LIBTORCH_USE_PYTORCH=1</c>, loads that libtorch's libraries (CUDA ones too, so CUDA
    /// registers itself) before the shim; returns the folder, or null when neither is set.
    /// </summary>
    public static string? PreloadLibTorch()
    {
        string? root = Environment.GetEnvironmentVariable(LibTorchVariable);
        string source = $"{LibTorchVariable}={root}";
        if (string.IsNullOrEmpty(root))
        {
            if (Environment.GetEnvironmentVariable(UsePyTorchVariable) != "1") return null;
            root = PyTorchFolder();
            source = $"{UsePyTorchVariable}=1 ({root})";
        }
        string libraries = Path.Combine(root, "lib");
        if (!File.Exists(Path.Combine(libraries, PlatformFileName("torch"))))
            throw new DllNotFoundException(
                $"{source} has no lib/{PlatformFileName("torch")}: point {LibTorchVariable} at a libtorch folder (with include/ and lib/), " +
                $"or unset it to use the libtorch the shim was built against. See docs/libtorch.md.");
        foreach (string name in new[] { "c10", "torch_cpu", "c10_cuda", "torch_cuda", "torch" })
        {
            string path = Path.Combine(libraries, PlatformFileName(name));
            if (!File.Exists(path)) continue;
            try { System.Runtime.InteropServices.NativeLibrary.Load(path); }
            catch (DllNotFoundException e) { throw new DllNotFoundException($"{source}: {path} could not be loaded: {e.Message}", e); }
        }
        return libraries;
    }

    /// <summary>The folder of the torch package of PYTHON (default python3).</summary>
    private static string PyTorchFolder()
    {
        string python = Environment.GetEnvironmentVariable(PythonVariable) is { Length: > 0 } p ? p : "python3";
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import torch,os;print(os.path.dirname(torch.__file__))");
        string failure;
        try
        {
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            if (process.ExitCode == 0 && Directory.Exists(output)) return output;
            failure = error.Result.Trim();
        }
        catch (System.ComponentModel.Win32Exception e) { failure = e.Message; }
        throw new DllNotFoundException(
            $"{UsePyTorchVariable}=1, but '{python}' could not tell where torch is: {failure}. Install PyTorch for that interpreter, " +
            $"set {PythonVariable} to one that has it, or set {LibTorchVariable} to a libtorch folder instead. See docs/libtorch.md.");
    }

    private static string PlatformFileName(string name) =>
        OperatingSystem.IsWindows() ? name + ".dll" : OperatingSystem.IsMacOS() ? $"lib{name}.dylib" : $"lib{name}.so";
}
