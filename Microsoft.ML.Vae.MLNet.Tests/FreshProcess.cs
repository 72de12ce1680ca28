using System.Diagnostics;
using System.Globalization;

namespace Microsoft.ML.Vae.MLNet.Tests;

/// <summary>
/// Loads a model zip in a new process that has ML.NET and nothing of this library (the ModelLoader project), and
/// returns what its Transform computed.
/// </summary>
internal static class FreshProcess
{
    /// <summary>Per output column, its values per row (a scalar column gives one value; bool as 0/1).</summary>
    public static Dictionary<string, float[][]> Transform(string modelPath, string featureColumn, IEnumerable<float[]> rows, params string[] columns)
    {
        string folder = Directory.CreateTempSubdirectory("vae-mlnet-load").FullName;
        try
        {
            string input = Path.Combine(folder, "rows.csv"), output = Path.Combine(folder, "out.csv");
            File.WriteAllLines(input, rows.Select(r => string.Join(",", r.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))));
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string argument in new[] { Loader(), modelPath, featureColumn, input, output }.Concat(columns))
                start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            string text = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.AreEqual(0, process.ExitCode, $"the loader failed: {text}{error.Result}");
            return File.ReadAllLines(output).Select(line => line.Split(','))
                .GroupBy(fields => fields[0])
                .ToDictionary(g => g.Key, g => g.OrderBy(f => int.Parse(f[1], CultureInfo.InvariantCulture))
                    .Select(f => f[2..].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray());
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    private static string Loader()
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string configuration = testDir.Parent!.Name;
        string path = Path.Combine(testDir.Parent.Parent!.Parent!.Parent!.FullName, "Microsoft.ML.Vae.MLNet.Tests.ModelLoader", "bin", configuration, testDir.Name, "MLNetModelLoader.dll");
        Assert.IsTrue(File.Exists(path), $"the model loader was not built at {path}");
        return path;
    }
}
