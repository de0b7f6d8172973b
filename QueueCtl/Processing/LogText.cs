using System.Globalization;
using System.Text;

namespace QueueCtl.Processing;

/// <summary>
/// Makes untrusted text safe for one line of a worker log. A command, a rejection reason quoting
/// a dropped file's key, or an error message can hold line breaks and terminal escapes; written
/// as they are, a dropped file could add fake lines to workers/&lt;id&gt;.log ("log forging") or
/// drive the terminal of whoever tails it. Every control character becomes a visible escape:
/// \n, \r, \t, or \xHH / \uHHHH. Backslashes stay as they are, so ordinary commands read unchanged.
/// </summary>
internal static class LogText
{
    public static string Escape(string text)
    {
        var clean = true;
        foreach (var c in text)
        {
            if (IsUnsafe(c))
            {
                clean = false;
                break;
            }
        }
        if (clean)
        {
            return text;
        }
        var escaped = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (!IsUnsafe(c))
            {
                escaped.Append(c);
                continue;
            }
            escaped.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < '\u0100' => "\\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture),
                _ => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
            });
        }
        return escaped.ToString();
    }

    /// <summary>C0 and C1 controls, DEL, and the Unicode line and paragraph separators.</summary>
    private static bool IsUnsafe(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';
}
