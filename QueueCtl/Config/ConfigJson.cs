using System.Text.Json.Serialization;

namespace QueueCtl.Config;

/// <summary>
/// Source-generated System.Text.Json metadata for config.json, with the options of the job files
/// (JobJson): indented, nulls left out. Its own context, so that Jobs need not know Config.
/// </summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Settings))]
internal sealed partial class ConfigJson : JsonSerializerContext
{
}
