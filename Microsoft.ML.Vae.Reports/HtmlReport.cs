using System.Net;
using System.Text;

namespace Microsoft.ML.Vae.Reports;

/// <summary>
/// One self-contained HTML page: headings, text, tables and inline SVG figures. No scripts and no external files,
/// so the page renders the same anywhere, offline or headless.
/// </summary>
public sealed class HtmlReport
{
    private readonly StringBuilder _body = new();
    private bool _figuresOpen;

    public HtmlReport(string title)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(title);
        Title = title;
    }

    public string Title { get; }

    public HtmlReport AddHeading(string text)
    {
        CloseFigures();
        _body.Append($"<h2>{Encode(text)}</h2>\n");
        return this;
    }

    public HtmlReport AddParagraph(string text)
    {
        CloseFigures();
        _body.Append($"<p>{Encode(text)}</p>\n");
        return this;
    }

    /// <summary>A two-column table of names and values.</summary>
    public HtmlReport AddKeyValues(IEnumerable<(string Name, string Value)> rows) =>
        AddTable(["", ""], rows.Select(r => (IReadOnlyList<string>)[r.Name, r.Value]), header: false);

    public HtmlReport AddTable(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, bool header = true)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(rows);
        CloseFigures();
        _body.Append("<table>\n");
        if (header) _body.Append("<tr>").Append(string.Concat(headers.Select(h => $"<th>{Encode(h)}</th>"))).Append("</tr>\n");
        int index = 0;
        foreach (var row in rows)
        {
            if (row.Count != headers.Count)
                throw new ArgumentException($"Table row {index} has {row.Count} cells but the table has {headers.Count} columns.", nameof(rows));
            _body.Append("<tr>").Append(string.Concat(row.Select(c => $"<td>{Encode(c)}</td>"))).Append("</tr>\n");
            index++;
        }
        _body.Append("</table>\n");
        return this;
    }

    /// <summary>Adds an SVG figure (from <see cref="Charts"/> or <see cref="ReportFigures"/>); consecutive figures flow side by side.</summary>
    public HtmlReport AddFigure(string svg, string caption)
    {
        ArgumentNullException.ThrowIfNull(svg);
        if (!svg.TrimStart().StartsWith("<svg", StringComparison.Ordinal))
            throw new ArgumentException("The figure must be an SVG element (it should start with '<svg').", nameof(svg));
        if (svg.Contains("<script", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException("The figure contains a script; reports are static.", nameof(svg));
        if (!_figuresOpen)
        {
            _body.Append("<div class=\"figures\">\n");
            _figuresOpen = true;
        }
        _body.Append($"<figure>{svg}<figcaption>{Encode(caption)}</figcaption></figure>\n");
        return this;
    }

    public string ToHtml()
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append($"<title>{Encode(Title)}</title>\n");
        html.Append("<style>body{font-family:sans-serif;margin:24px;color:#222;background:#fafafa}h1{font-size:22px}h2{font-size:18px;margin-top:28px}" +
                    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 10px;text-align:left;font-size:13px}" +
                    ".figures{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;background:white;border:1px solid #ddd;padding:6px}" +
                    "figcaption{font-size:12px;color:#555;max-width:670px}</style>\n</head>\n<body>\n");
        html.Append($"<h1>{Encode(Title)}</h1>\n");
        html.Append(_body);
        if (_figuresOpen) html.Append("</div>\n");
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>Writes the page (UTF-8), creating the folder if needed.</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, ToHtml(), new UTF8Encoding(false));
    }

    private void CloseFigures()
    {
        if (!_figuresOpen) return;
        _body.Append("</div>\n");
        _figuresOpen = false;
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text ?? "");
}
