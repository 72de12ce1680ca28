using System.Text;

namespace Microsoft.ML.Vae.Reports;

/// <summary>Self-contained SVG charts (no scripts, no external files) for <see cref="HtmlReport"/>.</summary>
public static class Charts
{
    /// <summary>Ten distinguishable colours (the Tableau 10 palette), one per class.</summary>
    public static readonly IReadOnlyList<string> Palette =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    /// <summary>Colour of normal rows in anomaly charts.</summary>
    public const string NormalColor = "#1f77b4";

    /// <summary>Colour of anomalous rows in anomaly charts.</summary>
    public const string AnomalyColor = "#d62728";

    /// <summary>Lines through each series' points, in order.</summary>
    public static string Line(string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series, bool showDiagonal = false)
    {
        var all = CheckSeries(series);
        var (xMin, xMax) = Range(all.SelectMany(s => s.X));
        var (yMin, yMax) = Range(all.SelectMany(s => s.Y));
        var canvas = new SvgCanvas(title, xLabel, yLabel, xMin, xMax, yMin, yMax);
        if (showDiagonal) canvas.Polyline([xMin, xMax], [xMin, xMax], "#999", 1, "4,4");
        foreach (var s in all)
        {
            canvas.Polyline(s.X, s.Y, s.Color);
            if (s.X.Count <= 60)
                for (int i = 0; i < s.X.Count; i++) canvas.Circle(s.X[i], s.Y[i], 2.5, s.Color);
            canvas.AddLegend(s.Name, s.Color);
        }
        return canvas.ToString();
    }

    /// <summary>Points of each series as dots (one colour per series, e.g. per class).</summary>
    public static string Scatter(string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series, double radius = 2.2)
    {
        var all = CheckSeries(series);
        var (xMin, xMax) = Range(all.SelectMany(s => s.X));
        var (yMin, yMax) = Range(all.SelectMany(s => s.Y));
        var canvas = new SvgCanvas(title, xLabel, yLabel, xMin, xMax, yMin, yMax);
        foreach (var s in all)
        {
            for (int i = 0; i < s.X.Count; i++) canvas.Circle(s.X[i], s.Y[i], radius, s.Color, 0.7);
            canvas.AddLegend(s.Name, s.Color);
        }
        return canvas.ToString();
    }

    /// <summary>
    /// Overlaid histograms of several groups over shared bins, each normalised to fractions of its group, with an
    /// optional vertical marker (e.g. the threshold).
    /// </summary>
    public static string Histogram(string title, string xLabel, IReadOnlyList<(string Name, string Color, IReadOnlyList<float> Values)> groups,
        int bins = 40, double? marker = null, string markerLabel = "threshold")
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (groups.Count == 0) throw new ArgumentException("At least one group of values is needed.", nameof(groups));
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins), bins, "At least one bin is needed.");
        var finite = groups.SelectMany(g => g.Values).Where(float.IsFinite).Select(v => (double)v).ToList();
        if (marker is { } m && double.IsFinite(m)) finite.Add(m);
        var (min, max) = Range(finite);
        if (max <= min) max = min + 1;
        double width = (max - min) / bins;
        var fractions = groups.Select(g =>
        {
            var counts = new double[bins];
            int total = 0;
            foreach (float v in g.Values)
            {
                if (!float.IsFinite(v)) continue;
                counts[Math.Clamp((int)((v - min) / width), 0, bins - 1)]++;
                total++;
            }
            return counts.Select(c => total == 0 ? 0 : c / total).ToArray();
        }).ToArray();
        var canvas = new SvgCanvas(title, xLabel, "fraction of rows", min, max, 0, Math.Max(1e-9, fractions.Max(f => f.Max())) * 1.08);
        for (int g = 0; g < groups.Count; g++)
        {
            for (int b = 0; b < bins; b++)
                if (fractions[g][b] > 0) canvas.Bar(min + b * width, min + (b + 1) * width, fractions[g][b], groups[g].Color, 0.55);
            canvas.AddLegend($"{groups[g].Name} ({groups[g].Values.Count})", groups[g].Color);
        }
        if (marker is { } line && double.IsFinite(line)) canvas.VerticalMarker(line, markerLabel, "#222");
        return canvas.ToString();
    }

    /// <summary>
    /// Rows of small greyscale images (values in [0, 1], drawn as ink on paper), each row with a label on the left,
    /// as inline PNG data URIs.
    /// </summary>
    public static string ImageGrid(string title, IReadOnlyList<(string Label, IReadOnlyList<float[]> Images)> rows, int imageWidth, int imageHeight, int scale = 2)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ArgumentException("At least one row of images is needed.", nameof(rows));
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "The scale must be at least 1.");
        int columns = rows.Max(r => r.Images.Count), cellWidth = imageWidth * scale + 4, cellHeight = imageHeight * scale + 4;
        const int labelWidth = 120, top = 30;
        int width = labelWidth + columns * cellWidth + 8, height = top + rows.Count * cellHeight + 8;
        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\">\n");
        svg.Append($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append($"<text x=\"8\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{SvgCanvas.Escape(title)}</text>\n");
        for (int r = 0; r < rows.Count; r++)
        {
            int y = top + r * cellHeight;
            svg.Append($"<text x=\"8\" y=\"{y + cellHeight / 2 + 4}\" font-size=\"12\">{SvgCanvas.Escape(rows[r].Label)}</text>\n");
            for (int c = 0; c < rows[r].Images.Count; c++)
            {
                var image = rows[r].Images[c];
                if (image.Length != imageWidth * imageHeight)
                    throw new ArgumentException($"Image {c} of row '{rows[r].Label}' has {image.Length} values, not {imageWidth}×{imageHeight}.", nameof(rows));
                string uri = PngEncoder.InkDataUri(image, imageWidth, imageHeight);
                svg.Append($"<image x=\"{labelWidth + c * cellWidth + 2}\" y=\"{y + 2}\" width=\"{imageWidth * scale}\" height=\"{imageHeight * scale}\" image-rendering=\"pixelated\" href=\"{uri}\"/>\n");
            }
        }
        svg.Append("</svg>");
        return svg.ToString();
    }

    private static IReadOnlyList<ChartSeries> CheckSeries(IReadOnlyList<ChartSeries> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0 || series.All(s => s.X.Count == 0)) throw new ArgumentException("At least one series with a point is needed.", nameof(series));
        foreach (var s in series) s.Validate();
        return series;
    }

    private static (double Min, double Max) Range(IEnumerable<double> values)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (double v in values)
        {
            if (!double.IsFinite(v)) continue;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        return (min, max);
    }
}
