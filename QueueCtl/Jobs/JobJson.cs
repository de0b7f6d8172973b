using System.Text.Json;
using System.Text.Json.Serialization;

namespace QueueCtl.Jobs;

/// <summary>
/// Source-generated System.Text.Json metadata for job files and the JSON the commands print.
/// config.json has ConfigJson (Config), workers/&lt;id&gt;.json WorkerJson (Processing).
/// </summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(Job))]
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
[JsonSerializable(typeof(List<Job>))]
[JsonSerializable(typeof(List<Attempt>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, object>))]
[JsonSerializable(typeof(List<Dictionary<string, object>>))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(double))]
internal sealed partial class JobJson : JsonSerializerContext
{
    /// <summary>
    /// The serializer's view of a job file: `&gt;`, `&amp;` and non-ASCII as they are, not as \u
    /// escapes. Files are written by <see cref="JobWriter"/>; JobWriterTests holds it to these bytes.
    /// </summary>
    public static JobJson Files => _files ??= new(new JsonSerializerOptions(Default.Options)
    {
        Encoder = PlainJsonEncoder.Instance,
    });

    private static JobJson? _files;

    /// <summary>A job file's bytes (<see cref="JobWriter"/>).</summary>
    public static byte[] Serialize(Job job) => JobWriter.Write(job);

    /// <summary>Reads a job file written by queuectl (already validated when it entered the queue).</summary>
    public static Job Deserialize(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize(utf8, Default.Job) ?? throw new JsonException("The job file holds null.");
}
