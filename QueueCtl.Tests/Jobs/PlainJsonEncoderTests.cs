using System.Text;
using System.Text.Json;
using QueueCtl.Jobs;

namespace QueueCtl.Tests.Jobs;

/// <summary>Job files keep text as it is and escape only what JSON needs or nobody could see.</summary>
[Parallelizable(ParallelScope.All)]
public class PlainJsonEncoderTests
{
    private static string Written(string value, bool asUtf8)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = PlainJsonEncoder.Instance }))
        {
            if (asUtf8)
            {
                writer.WriteStringValue(Encoding.UTF8.GetBytes(value));
            }
            else
            {
                writer.WriteStringValue(value);
            }
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Text_IsWrittenAsItIs_ButQuotesBackslashesAndInvisibleCharacters(bool asUtf8)
    {
        const string text = "héllo <wörld> & 'x' + 日本 😀 \" \\ \n\r\t\b\f \u0001\u007f\u0085 \u2028\u2029\ufeff end";

        var written = Written(text, asUtf8);

        Assert.That(written, Is.EqualTo(
            "\"héllo <wörld> & 'x' + 日本 😀 \\\" \\\\ \\n\\r\\t\\b\\f \\u0001\\u007F\\u0085 \\u2028\\u2029\\uFEFF end\""));
        Assert.That(JsonDocument.Parse(written).RootElement.GetString(), Is.EqualTo(text), "reads back the same");
    }

    [Test]
    public void ALoneSurrogate_IsWrittenAsTheReplacementCharacter()
    {
        var written = Written("a\ud800b", asUtf8: false);

        Assert.That(JsonDocument.Parse(written).RootElement.GetString(), Is.EqualTo("a\ufffdb"));
    }
}
