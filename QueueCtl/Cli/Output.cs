using System.Globalization;
using System.Text;
using System.Text.Json;

namespace QueueCtl.Cli;

/// <summary>Human output helpers: aligned tables, relative times, and a JSON writer for --json.</summary>
internal static partial class Output
{
    /// <summary>Colour only on a terminal, and never under NO_COLOR (no-color.org) or TERM=dumb.</summary>
    public static bool UseColor { get; set; } =
        !Console.IsOutputRedirected
        && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))
        && Environment.GetEnvironmentVariable("TERM") != "dumb";

    [System.Text.RegularExpressions.GeneratedRegex("\u001b\\[[0-9;]*m")]
    private static partial System.Text.RegularExpressions.Regex AnsiCode();

    /// <summary>A state name (or a worker state) in its colour, when colour is on.</summary>
    public static string State(string state)
    {
        var code = state switch
        {
            "pending" => "36",
            "processing" or "busy" => "34",
            "completed" => "32",
            "failed" or "stopping" => "33",
            "dead" => "31",
            "rejected" => "35",
            _ => null,
        };
        return UseColor && code is not null ? $"\u001b[{code}m{state}\u001b[0m" : state;
    }

    private static int VisibleLength(string text) => text.Contains('\u001b') ? AnsiCode().Replace(text, "").Length : text.Length;

    /// <summary>Writes rows as left-aligned columns separated by two spaces; the last column is not padded.</summary>
    public static void Table(TextWriter writer, IReadOnlyList<string[]> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        var columns = rows.Max(r => r.Length);
        var widths = new int[columns];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], VisibleLength(row[i]));
            }
        }
        var line = new StringBuilder();
        foreach (var row in rows)
        {
            line.Clear();
            for (var i = 0; i < row.Length; i++)
            {
                line.Append(row[i]);
                if (i < row.Length - 1)
                {
                    line.Append(' ', widths[i] + 2 - VisibleLength(row[i]));
                }
            }
            writer.WriteLine(line.ToString().TrimEnd());
        }
    }

    /// <summary>"3 s ago", "in 2 m", "now": coarse on purpose, exact times are in the file.</summary>
    public static string Relative(DateTime when, DateTime now)
    {
        var delta = when - now;
        var span = delta.Duration();
        string amount;
        if (span < TimeSpan.FromSeconds(1))
        {
            return "now";
        }
        else if (span < TimeSpan.FromMinutes(1))
        {
            amount = $"{(int)span.TotalSeconds} s";
        }
        else if (span < TimeSpan.FromHours(1))
        {
            amount = $"{(int)span.TotalMinutes} m";
        }
        else if (span < TimeSpan.FromDays(1))
        {
            amount = $"{(int)span.TotalHours} h";
        }
        else
        {
            amount = $"{(int)span.TotalDays} d";
        }
        return delta < TimeSpan.Zero ? amount + " ago" : "in " + amount;
    }

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Writes one JSON document (indented) followed by a newline.</summary>
    public static void Json(TextWriter writer, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = QueueCtl.Jobs.PlainJsonEncoder.Instance }))
        {
            write(json);
        }
        writer.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    public static string Shorten(string text, int max)
    {
        var oneLine = text.ReplaceLineEndings(" ");
        return oneLine.Length <= max ? oneLine : oneLine[..(max - 1)] + "…";
    }
}
