using System.Text.Json;
using System.Text.Json.Serialization;
using QueueCtl.Jobs;

namespace QueueCtl.Processing;

/// <summary>
/// Source-generated System.Text.Json metadata for workers/&lt;id&gt;.json, with the options of the
/// job files (JobJson): indented, nulls left out, timestamps as UTC text, characters as they are.
/// Its own context, so that Jobs need not know Processing.
/// </summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(WorkerRecord))]
internal sealed partial class WorkerJson : JsonSerializerContext
{
    /// <summary>Like <see cref="JobJson.Files"/>: `&gt;`, `&amp;` and non-ASCII written as they are.</summary>
    public static WorkerJson Files => _files ??= new(new JsonSerializerOptions(Default.Options)
    {
        Encoder = PlainJsonEncoder.Instance,
    });

    private static WorkerJson? _files;
}
