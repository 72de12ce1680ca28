using System.Globalization;
using System.Net;
using System.Text;

namespace Microsoft.ML.Vae.Reports;

/// <summary>
/// An SVG chart frame: title, axes with rounded ticks, axis labels and a legend, and a data-to-pixel mapping for the
/// marks drawn inside it. Numbers are written with the invariant culture, text is XML-escaped.
/// </summary>
internal sealed class SvgCanvas
{
    // The legend sits to the right of the plot, where it cannot hide data.
    private const int LegendWidth = 150, Width = 520 + LegendWidth, Height = 360;
    private const int Left = 64, Right = 16 + LegendWidth, Top = 34, Bottom = 48;

    private readonly StringBuilder _body = new();
    private readonly List<(string Name, string Color)> _legend = [];
    private readonly string _title, _xLabel, _yLabel;
    private readonly double _xMin, _xMax, _yMin, _yMax;

    public SvgCanvas(string title, string xLabel, string yLabel, double xMin, double xMax, double yMin, double yMax)
    {
        _title = title;
        _xLabel = xLabel;
        _yLabel = yLabel;
        (_xMin, _xMax) = Widen(xMin, xMax);
        (_yMin, _yMax) = Widen(yMin, yMax);
    }

    public double X(double value) => Left + (value - _xMin) / (_xMax - _xMin) * (Width - Left - Right);

    public double Y(double value) => Height - Bottom - (value - _yMin) / (_yMax - _yMin) * (Height - Top - Bottom);

    public void Polyline(IReadOnlyList<double> xs, IReadOnlyList<double> ys, string color, double strokeWidth = 2, string? dash = null)
    {
        var points = new StringBuilder();
        for (int i = 0; i < xs.Count; i++)
        {
            if (!double.IsFinite(xs[i]) || !double.IsFinite(ys[i])) continue;
            points.Append(F(X(xs[i]))).Append(',').Append(F(Y(ys[i]))).Append(' ');
        }
        _body.Append($"<polyline fill=\"none\" stroke=\"{Escape(color)}\" stroke-width=\"{F(strokeWidth)}\"{(dash is null ? "" : $" stroke-dasharray=\"{dash}\"")} points=\"{points.ToString().TrimEnd()}\"/>\n");
    }

    public void Circle(double x, double y, double radius, string color, double opacity = 1)
    {
        if (!double.IsFinite(x) || !double.IsFinite(y)) return;
        _body.Append($"<circle cx=\"{F(X(x))}\" cy=\"{F(Y(y))}\" r=\"{F(radius)}\" fill=\"{Escape(color)}\" fill-opacity=\"{F(opacity)}\"/>\n");
    }

    /// <summary>A bar from (x0, 0) to (x1, height) in data units.</summary>
    public void Bar(double x0, double x1, double height, string color, double opacity)
    {
        double top = Y(height), bottom = Y(Math.Max(_yMin, 0));
        _body.Append($"<rect x=\"{F(X(x0))}\" y=\"{F(top)}\" width=\"{F(Math.Max(0, X(x1) - X(x0)))}\" height=\"{F(Math.Max(0, bottom - top))}\" fill=\"{Escape(color)}\" fill-opacity=\"{F(opacity)}\"/>\n");
    }

    /// <summary>A vertical marker line across the plot at data x, with a label.</summary>
    public void VerticalMarker(double x, string label, string color)
    {
        _body.Append($"<line x1=\"{F(X(x))}\" x2=\"{F(X(x))}\" y1=\"{Top}\" y2=\"{Height - Bottom}\" stroke=\"{Escape(color)}\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\"/>\n");
        _body.Append($"<text x=\"{F(X(x) + 4)}\" y=\"{Top + 12}\" font-size=\"11\" fill=\"{Escape(color)}\">{Escape(label)}</text>\n");
    }

    public void AddLegend(string name, string color) => _legend.Add((name, color));

    public override string ToString()
    {
        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\">\n");
        svg.Append($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n");
        svg.Append($"<text x=\"{Width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{Escape(_title)}</text>\n");
        foreach (double tick in Ticks(_xMin, _xMax))
        {
            double px = X(tick);
            svg.Append($"<line x1=\"{F(px)}\" x2=\"{F(px)}\" y1=\"{Top}\" y2=\"{Height - Bottom}\" stroke=\"#e6e6e6\"/>\n");
            svg.Append($"<text x=\"{F(px)}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\" font-size=\"11\">{Escape(Label(tick))}</text>\n");
        }
        foreach (double tick in Ticks(_yMin, _yMax))
        {
            double py = Y(tick);
            svg.Append($"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{F(py)}\" y2=\"{F(py)}\" stroke=\"#e6e6e6\"/>\n");
            svg.Append($"<text x=\"{Left - 6}\" y=\"{F(py + 4)}\" text-anchor=\"end\" font-size=\"11\">{Escape(Label(tick))}</text>\n");
        }
        svg.Append($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{Width - Left - Right}\" height=\"{Height - Top - Bottom}\" fill=\"none\" stroke=\"#444\"/>\n");
        svg.Append($"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 10}\" text-anchor=\"middle\" font-size=\"12\">{Escape(_xLabel)}</text>\n");
        svg.Append($"<text transform=\"translate(14,{(Top + Height - Bottom) / 2}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">{Escape(_yLabel)}</text>\n");
        svg.Append(_body);
        int legendLeft = Width - LegendWidth + 8;
        for (int i = 0; i < _legend.Count; i++)
        {
            int y = Top + 10 + 16 * i;
            svg.Append($"<rect x=\"{legendLeft}\" y=\"{y - 9}\" width=\"12\" height=\"12\" fill=\"{Escape(_legend[i].Color)}\"/>\n");
            svg.Append($"<text x=\"{legendLeft + 17}\" y=\"{y + 1}\" font-size=\"11\">{Escape(_legend[i].Name)}</text>\n");
        }
        svg.Append("</svg>");
        return svg.ToString();
    }

    public static string Escape(string text) => WebUtility.HtmlEncode(text);

    public static string F(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>About five ticks at 1, 2 or 5 times a power of ten.</summary>
    internal static IEnumerable<double> Ticks(double min, double max)
    {
        double raw = (max - min) / 5, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = magnitude * (raw / magnitude >= 5 ? 5 : raw / magnitude >= 2 ? 2 : 1);
        for (double t = Math.Ceiling(min / step) * step; t <= max + step * 1e-9; t += step) yield return Math.Abs(t) < step * 1e-9 ? 0 : t;
    }

    private static string Label(double value) => value.ToString(Math.Abs(value) >= 1e5 || (value != 0 && Math.Abs(value) < 1e-3) ? "0.#e0" : "0.###", CultureInfo.InvariantCulture);

    /// <summary>A non-empty, finite range: a single value or a NaN range gets a unit of room.</summary>
    private static (double, double) Widen(double min, double max)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max)) return (0, 1);
        if (max - min < 1e-12 * Math.Max(1, Math.Abs(max))) return (min - 0.5, max + 0.5);
        return (min, max);
    }
}
