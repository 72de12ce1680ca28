using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.Reports;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public class ReportTests
{
    [TestMethod]
    public void PngEncoderWritesValidChunksAndThePixelsRowByRow()
    {
        byte[] pixels = [0, 50, 100, 150, 200, 250];
        var png = PngEncoder.EncodeGrayscale(pixels, 3, 2);

        CollectionAssert.AreEqual(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 }, png[..8]);
        var chunks = new List<(string Type, byte[] Data)>();
        for (int pos = 8; pos < png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, length).ToArray();
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + length));
            Assert.AreEqual(BitwiseCrc32(png.AsSpan(pos + 4, 4 + length)), crc, $"CRC of {type}");
            chunks.Add((type, data));
            pos += 12 + length;
        }
        Assert.AreEqual(0xAE426082u, BitwiseCrc32("IEND"u8), "the reference CRC matches PNG's published IEND CRC");
        CollectionAssert.AreEqual(new[] { "IHDR", "IDAT", "IEND" }, chunks.Select(c => c.Type).ToArray());
        Assert.AreEqual(3, BinaryPrimitives.ReadInt32BigEndian(chunks[0].Data));
        Assert.AreEqual(2, BinaryPrimitives.ReadInt32BigEndian(chunks[0].Data.AsSpan(4)));
        Assert.AreEqual(8, chunks[0].Data[8]);
        Assert.AreEqual(0, chunks[0].Data[9]);
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress)) zlib.CopyTo(inflated);
        CollectionAssert.AreEqual(new byte[] { 0, 0, 50, 100, 0, 150, 200, 250 }, inflated.ToArray());
        Assert.ThrowsExactly<ArgumentException>(() => PngEncoder.EncodeGrayscale(pixels, 4, 2));
    }

    [TestMethod]
    public void ChartsAreWellFormedSvgWithTheirDataMapped()
    {
        var line = Charts.Line("t <&>", "x", "y", [new ChartSeries("s", "#123456", [0, 1, 2], [0, 10, 5])]);
        var svg = XElement.Parse(line); // throws if the SVG is not well-formed XML (escaping included)
        XNamespace ns = "http://www.w3.org/2000/svg";
        var polyline = svg.Descendants(ns + "polyline").Single(p => (string?)p.Attribute("stroke") == "#123456");
        var points = polyline.Attribute("points")!.Value.Split(' ').Select(p => p.Split(',').Select(double.Parse).ToArray()).ToArray();
        Assert.AreEqual(3, points.Length);
        Assert.IsTrue(points[0][0] < points[1][0] && points[1][0] < points[2][0], "x increases to the right");
        Assert.IsTrue(points[1][1] < points[2][1] && points[2][1] < points[0][1], "larger y is drawn higher");
        Assert.IsTrue(svg.Descendants(ns + "text").Any(t => t.Value == "t <&>"));

        var histogram = XElement.Parse(Charts.Histogram("h", "x", [("a", "#aa0000", [1f, 1f, 2f, 3f]), ("b", "#0000aa", [3f])], bins: 2, marker: 2.5));
        Assert.AreEqual(3, histogram.Descendants(ns + "rect").Count(r => (string?)r.Attribute("fill") is "#aa0000" or "#0000aa" && r.Attribute("fill-opacity") is not null));
        Assert.IsTrue(histogram.Descendants(ns + "line").Any(l => (string?)l.Attribute("stroke-dasharray") == "5,3"), "the marker is drawn");

        Assert.ThrowsExactly<ArgumentException>(() => Charts.Line("t", "x", "y", [new ChartSeries("s", "red", [0, 1], [0])]));
    }

    [TestMethod]
    public void LatentScatterDrawsOneColourPerLabelPresent()
    {
        var embeddings = TestData.Clusters(60, 5, 1);
        var labels = Enumerable.Range(0, 60).Select(i => i % 2 == 0 ? 0 : 2).ToArray();
        var svg = XElement.Parse(ReportFigures.LatentScatter(embeddings, labels, ["zero", "one", "two"]));
        XNamespace ns = "http://www.w3.org/2000/svg";
        var fills = svg.Descendants(ns + "circle").Select(c => (string)c.Attribute("fill")!).Distinct().OrderBy(f => f).ToArray();
        CollectionAssert.AreEqual(new[] { Charts.Palette[0], Charts.Palette[2] }, fills);
        Assert.AreEqual(60, svg.Descendants(ns + "circle").Count());
        Assert.ThrowsExactly<ArgumentException>(() => ReportFigures.LatentScatter(embeddings, labels.Select(l => l + 5).ToArray(), ["a"]));
    }

    [TestMethod]
    public void TheReportIsOneStaticPageWithEscapedTextAndInlineFigures()
    {
        var metrics = AnomalyEvaluator.Evaluate([1f, 2f, 3f, 4f], [false, true, false, true], threshold: 2.5);
        var report = new HtmlReport("A <b>report</b>")
            .AddParagraph("x < y & z")
            .AddKeyValues(ReportFigures.Describe(metrics))
            .AddFigure(ReportFigures.RocCurve(metrics), "roc")
            .AddFigure(Charts.ImageGrid("images", [("row", [new float[4], Enumerable.Repeat(1f, 4).ToArray()])], 2, 2), "grid");
        string html = report.ToHtml();

        StringAssert.Contains(html, "<title>A &lt;b&gt;report&lt;/b&gt;</title>");
        StringAssert.Contains(html, "x &lt; y &amp; z");
        Assert.AreEqual(2, Regex.Matches(html, "<svg ").Count);
        Assert.AreEqual(2, Regex.Matches(html, "href=\"data:image/png;base64,").Count);
        Assert.IsFalse(html.Contains("<script", StringComparison.OrdinalIgnoreCase));
        Assert.IsFalse(Regex.IsMatch(html, "(src|href)=\"(https?:|//)"), "no external resources");
        Assert.ThrowsExactly<ArgumentException>(() => report.AddFigure("<div/>", "not svg"));
        Assert.ThrowsExactly<ArgumentException>(() => report.AddTable(["a", "b"], [["only one"]]));
    }

    [TestMethod]
    [TestCategory("Chromium")]
    public void TheRenderedReportShowsThePlots()
    {
        string script = Path.Combine(RepositoryRoot(), "eng", "render-report.sh");
        if (!File.Exists("/usr/bin/chromium")) Assert.Inconclusive("chromium is not installed (apt-get install -y chromium).");
        var random = new Mathematics.RandomSource(3, 1);
        var scores = Enumerable.Range(0, 400).Select(i => random.NextFloat() + (i % 4 == 0 ? 0.8f : 0f)).ToArray();
        var isAnomaly = Enumerable.Range(0, 400).Select(i => i % 4 == 0).ToArray();
        var metrics = AnomalyEvaluator.Evaluate(scores, isAnomaly, threshold: 1);
        string folder = Directory.CreateTempSubdirectory().FullName;
        try
        {
            string html = Path.Combine(folder, "report.html"), png = Path.Combine(folder, "report.png");
            new HtmlReport("Render check")
                .AddFigure(ReportFigures.RocCurve(metrics), "roc")
                .AddFigure(ReportFigures.ScoreHistogram(scores, isAnomaly, 1), "histogram")
                .Save(html);
            var (code, output) = Run("bash", script, html, png, "1200,900");
            Assert.AreEqual(0, code, output);
            StringAssert.Contains(output, "shows the plots");

            // The same check fails on a page without plots.
            new HtmlReport("Empty").AddParagraph("no figures").Save(html);
            Assert.AreEqual(1, Run("bash", script, html, png, "1200,900").Code);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    /// <summary>CRC-32 bit by bit, independent of the encoder's table.</summary>
    private static uint BitwiseCrc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
        }
        return ~crc;
    }

    private static (int Code, string Output) Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Vae.MLNet.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("The repository root (with Vae.MLNet.sln) was not found above the test folder.");
    }
}
