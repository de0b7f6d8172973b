using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace QueueCtl.Jobs;

/// <summary>
/// The escaping of every JSON queuectl writes (job files, --json, the dashboard's API): only what
/// JSON requires or a reader could not see, every other character as it is, so a job file reads
/// well with `cat` (non-ASCII text, emoji, `&lt;`, `&gt;`, `&amp;`, quotes in a command). Escaped:
/// `"` and `\`, the control characters (U+0000-U+001F, U+007F-U+009F; \n, \r, \t, \b and \f by
/// their short forms), the line and paragraph separators U+2028/U+2029 and U+FEFF; a lone
/// surrogate is written as U+FFFD. It replaces JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
/// whose set-up (a table of every defined BMP character) cost a twentieth of a NativeAOT
/// `enqueue` and a tenth of a JIT one, and which escaped characters beyond the BMP (emoji) as
/// surrogate pairs. Never for JSON embedded in HTML (`&lt;/script&gt;` stays as it is).
/// </summary>
internal sealed class PlainJsonEncoder : JavaScriptEncoder
{
    public static readonly PlainJsonEncoder Instance = new();

    private PlainJsonEncoder()
    {
    }

    /// <summary>\uXXXX for each UTF-16 unit of the widest scalar.</summary>
    public override int MaxOutputCharactersPerInputCharacter => 12;

    public override bool WillEncode(int unicodeScalar) =>
        unicodeScalar is < 0x20 or '"' or '\\' or (>= 0x7F and <= 0x9F) or 0x2028 or 0x2029 or 0xFEFF or (>= 0xD800 and <= 0xDFFF);

    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        for (var i = 0; i < textLength; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < textLength && char.IsLowSurrogate(text[i + 1]))
            {
                i++; // a pair: a scalar beyond the BMP, written as it is
                continue;
            }
            if (WillEncode(c))
            {
                return i;
            }
        }
        return -1;
    }

    public override int FindFirstCharacterToEncodeUtf8(ReadOnlySpan<byte> utf8Text)
    {
        var index = 0;
        while (index < utf8Text.Length)
        {
            var b = utf8Text[index];
            if (b < 0x80)
            {
                if (b < 0x20 || b == '"' || b == '\\' || b == 0x7F)
                {
                    return index;
                }
                index++;
                continue;
            }
            if (Rune.DecodeFromUtf8(utf8Text[index..], out var rune, out var length) != System.Buffers.OperationStatus.Done || WillEncode(rune.Value))
            {
                return index; // invalid UTF-8 too: the writer replaces it
            }
            index += length;
        }
        return -1;
    }

    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        Span<char> output = new(buffer, bufferLength);
        if (!WillEncode(unicodeScalar))
        {
            numberOfCharactersWritten = 0;
            return Rune.IsValid(unicodeScalar) && new Rune(unicodeScalar).TryEncodeToUtf16(output, out numberOfCharactersWritten);
        }
        var shortForm = unicodeScalar switch
        {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\b' => "\\b",
            '\f' => "\\f",
            _ => null,
        };
        var escaped = shortForm ?? "\\u" + unicodeScalar.ToString("X4", CultureInfo.InvariantCulture);
        if (escaped.Length > bufferLength)
        {
            numberOfCharactersWritten = 0;
            return false;
        }
        escaped.CopyTo(output);
        numberOfCharactersWritten = escaped.Length;
        return true;
    }
}
