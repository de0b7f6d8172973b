using System.Text.Json;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Config;

/// <summary>Reads and writes config.json. Workers re-read it when it changes, so no restart is needed.</summary>
internal static class ConfigStore
{
    public static Settings Load(QueueHome home)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(home.ConfigFile);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new Settings();
        }
        try
        {
            return JsonSerializer.Deserialize(bytes, JobJson.Default.Settings) ?? new Settings();
        }
        catch (JsonException e)
        {
            throw Failure.Operation($"The settings file '{home.ConfigFile}' is not valid: {e.Message}");
        }
    }

    public static void Save(QueueHome home, Settings settings)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(settings, JobJson.Files.Settings);
        AtomicFile.Write(home, home.ConfigFile, [.. bytes, (byte)'\n'], noReplace: false);
    }
}
