using System.Text;
using System.Text.Json;
using QueueCtl.Jobs;

namespace QueueCtl.Storage;

/// <summary>
/// The queue and the parents ("after") of a job file from its first bytes, for `status`, which
/// must stay cheap with many jobs (pending/ and processing/): queuectl writes "id", "queue" and
/// "after" before "command", so reading up to "command" (or the end) settles both; only a file
/// that puts them later (a dropped file) is read whole.
/// </summary>
internal static class JobPrefix
{
    private const int PrefixBytes = 1024;

    /// <summary>Null when the file is gone, unreadable, or names no valid queue.</summary>
    public static (string Queue, List<string>? After)? Read(string path)
    {
        byte[] prefix;
        bool whole;
        try
        {
            var buffer = new byte[PrefixBytes];
            var filled = RegularFile.ReadPrefix(path, buffer);
            prefix = buffer[..filled];
            whole = filled < PrefixBytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotRegularFileException)
        {
            return null; // RACE: claimed or moved since it was listed (or never a job: a FIFO)
        }
        if (Sniff(prefix, whole) is { } found)
        {
            return found.Queue is null ? null : (found.Queue, found.After);
        }
        try
        {
            var text = Encoding.UTF8.GetString(SharedFile.ReadAllBytes(path)).TrimStart('\uFEFF');
            using var document = JsonDocument.Parse(text);
            var settled = Sniff(Encoding.UTF8.GetBytes(document.RootElement.GetRawText()), whole: true);
            return settled?.Queue is { } queue ? (queue, settled.Value.After) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotRegularFileException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Null when the bytes do not settle it; a null Queue when the file names no valid queue.</summary>
    private static (string? Queue, List<string>? After)? Sniff(byte[] utf8, bool whole)
    {
        var start = utf8.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0;
        var reader = new Utf8JsonReader(utf8.AsSpan(start), isFinalBlock: whole, state: default);
        string? queue = Job.DefaultQueue;
        List<string>? after = null;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return whole ? (null, null) : null;
            }
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject || reader.ValueTextEquals("command"u8) && queue != null && IsQueuectlOrder(utf8))
                {
                    return (queue, after);
                }
                var isQueue = reader.ValueTextEquals("queue"u8);
                var isAfter = reader.ValueTextEquals("after"u8);
                if (!reader.Read())
                {
                    return null;
                }
                if (isQueue)
                {
                    var name = reader.TokenType == JsonTokenType.String ? reader.GetString() : reader.TokenType == JsonTokenType.Null ? Job.DefaultQueue : null;
                    queue = name is not null && JobId.IsValid(name) ? name : null;
                }
                else if (isAfter && reader.TokenType == JsonTokenType.StartArray)
                {
                    after = [];
                    while (reader.Read() && reader.TokenType == JsonTokenType.String)
                    {
                        after.Add(reader.GetString()!);
                    }
                }
                else if (!reader.TrySkip())
                {
                    return null;
                }
            }
            return null;
        }
        catch (JsonException)
        {
            return whole ? (null, null) : null;
        }
    }

    /// <summary>A file queuectl wrote starts with "id": its "queue" and "after" come before "command".</summary>
    private static bool IsQueuectlOrder(byte[] utf8) => utf8.AsSpan().IndexOf("{\n  \"id\""u8) == 0;
}
