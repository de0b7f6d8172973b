using System.Globalization;
using System.Text.Json;
using QueueCtl.Config;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>What `config set` starts from: the file's settings, or defaults when the file is corrupt.</summary>
internal sealed record ConfigForRepair(Settings Settings, string? CorruptReason, List<string> Problems);

/// <summary>
/// Reads and writes config.json. Workers re-read it when it changes, so no restart is needed.
/// A key the file leaves out takes its default (a file written by hand or by an older version);
/// a value out of its key's range is replaced by the default (SettingKeys.Normalize).
/// </summary>
internal static class ConfigStore
{
    public static Settings Load(QueueHome home) => Load(home, []);

    /// <summary>The settings in use; <paramref name="problems"/> gets a sentence per value that was out of range.</summary>
    public static Settings Load(QueueHome home, List<string> problems)
    {
        var read = Read(home, problems);
        if (read.CorruptReason is not null)
        {
            throw Failure.Operation(
                $"The settings file '{home.ConfigFile}' is not valid ({read.CorruptReason}); run 'queuectl config set KEY VALUE' to write a fresh one (the old one is kept aside), or fix or delete the file.");
        }
        return read.Settings;
    }

    /// <summary>Like <see cref="Load(QueueHome, List{string})"/>, but a corrupt file reads as defaults with its reason.</summary>
    public static ConfigForRepair LoadForRepair(QueueHome home) => Read(home, []);

    /// <summary>Moves a corrupt config.json aside (never deletes it) and returns where it went.</summary>
    public static string KeepCorrupt(QueueHome home, DateTime now)
    {
        for (var attempt = 0; ; attempt++)
        {
            var stamp = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            var aside = $"{home.ConfigFile}.corrupt-{stamp}{(attempt == 0 ? "" : "-" + attempt)}";
            switch (JobMoves.Move(JobMove.Place, home.ConfigFile, aside))
            {
                case MoveResult.Moved:
                case MoveResult.SourceMissing: // RACE: another `config set` moved it first.
                    return aside;
                default:
                    continue; // the name is taken (two repairs in one second): try the next one
            }
        }
    }

    public static void Save(QueueHome home, Settings settings)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(settings, ConfigJson.Default.Settings);
        AtomicFile.Write(home, home.ConfigFile, [.. bytes, (byte)'\n'], noReplace: false);
    }

    private static ConfigForRepair Read(QueueHome home, List<string> problems)
    {
        byte[] bytes;
        try
        {
            // Most homes have no config.json: an exception costs a tenth of a NativeAOT command's start-up.
            if (!File.Exists(home.ConfigFile))
            {
                return new ConfigForRepair(new Settings(), null, problems);
            }
            bytes = File.ReadAllBytes(home.ConfigFile);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new ConfigForRepair(new Settings(), null, problems);
        }
        Settings settings;
        try
        {
            using var document = JsonDocument.Parse(bytes);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return new ConfigForRepair(new Settings(), "it does not hold a JSON object", problems);
            }
            settings = JsonSerializer.Deserialize(bytes, ConfigJson.Default.Settings) ?? new Settings();
            // The source-generated reader sets every property, so a key the file leaves out would
            // read as 0 (a lease of 0 s, a log cap of 0 bytes): give each missing key its default.
            var defaults = new Settings();
            foreach (var key in SettingKeys.All)
            {
                if (!document.RootElement.TryGetProperty(key.SnakeName, out _))
                {
                    settings = key.TakeDefault(settings, defaults);
                }
            }
        }
        catch (JsonException e)
        {
            var message = e.Message;
            var cut = message.IndexOf(". ", StringComparison.Ordinal);
            return new ConfigForRepair(new Settings(), (cut < 0 ? message : message[..cut]).TrimEnd('.'), problems);
        }
        return new ConfigForRepair(SettingKeys.Normalize(settings, problems), null, problems);
    }
}
