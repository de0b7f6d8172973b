using System.Text;
using System.Text.Json;
using QueueCtl.Jobs;

namespace QueueCtl.Storage;

/// <summary>
/// The queue of a job file without parsing all of it: queuectl writes "queue" right after "id"
/// (and leaves it out for the default queue), so the first <see cref="PrefixBytes"/> bytes
/// nearly always settle it. Only when they do not (a dropped file with a long command before its
/// "queue") is the whole file read. For `status`, which must stay cheap with many jobs.
/// </summary>
internal static class QueueOfFile
{
    private const int PrefixBytes = 512;

    /// <summary>The file's queue; null when it is gone, unreadable, or names no valid queue.</summary>
    public static string? Read(string path)
    {
        byte[] prefix;
        bool whole;
        try
        {
            using var stream = RegularFile.OpenRead(path);
            var buffer = new byte[PrefixBytes];
            var filled = 0;
            int read;
            while (filled < buffer.Length && (read = stream.Read(buffer, filled, buffer.Length - filled)) > 0)
            {
                filled += read;
            }
            prefix = buffer[..filled];
            whole = filled < PrefixBytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotRegularFileException)
        {
            return null; // RACE: claimed or moved since it was listed (or never a job: a FIFO)
        }
        if (Sniff(prefix, whole, out var queue))
        {
            return queue;
        }
        if (whole)
        {
            return null;
        }
        try
        {
            var text = Encoding.UTF8.GetString(SharedFile.ReadAllBytes(path)).TrimStart('\uFEFF');
            using var document = JsonDocument.Parse(text);
            return Sniff(Encoding.UTF8.GetBytes(document.RootElement.GetRawText()), whole: true, out queue) ? queue : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotRegularFileException or JsonException)
        {
            return null;
        }
    }

    /// <summary>True when the bytes settle the queue (then null means not a valid queue name).</summary>
    private static bool Sniff(byte[] utf8, bool whole, out string? queue)
    {
        queue = null;
        var start = utf8.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0;
        var reader = new Utf8JsonReader(utf8.AsSpan(start), isFinalBlock: whole, state: default);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return whole;
            }
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    queue = Job.DefaultQueue;
                    return true;
                }
                var isQueue = reader.ValueTextEquals("queue"u8);
                if (!reader.Read())
                {
                    return false;
                }
                if (isQueue)
                {
                    var name = reader.TokenType == JsonTokenType.String ? reader.GetString() : reader.TokenType == JsonTokenType.Null ? Job.DefaultQueue : null;
                    queue = name is not null && JobId.IsValid(name) ? name : null;
                    return true;
                }
                if (!reader.TrySkip())
                {
                    return false;
                }
            }
            return false;
        }
        catch (JsonException)
        {
            return whole;
        }
    }
}
