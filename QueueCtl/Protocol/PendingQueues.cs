using System.Globalization;
using System.Text;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>
/// The queue and parents of each pending file, for `status`'s per-queue counts, remembered in
/// <c>index/pending.queues</c> so that 100,000 pending jobs are not opened on every call: a line
/// per file, "&lt;mtime ticks&gt; &lt;size&gt; &lt;queue&gt; &lt;parents or -&gt; &lt;name&gt;". A
/// remembered answer is used only while the file's mtime and size are the same (queuectl sets a
/// pending file's mtime to its not_before when it writes it; a file rewritten by hand gets a new
/// one), otherwise the file's first bytes are read again (JobPrefix). Derived data: written
/// by tmp + rename when a large backlog changed, deleted or torn means read the files again.
/// </summary>
internal sealed class PendingQueues
{
    /// <summary>Below this many pending files they are just read: the cache is not worth its file.</summary>
    public const int Threshold = 2000;

    private readonly QueueHome _home;
    private readonly Dictionary<string, Entry> _known;
    private readonly List<(string Name, Entry Entry)> _read = [];
    private int _hits;

    /// <summary>A remembered answer; <see cref="Seen"/> marks those still in the folder.</summary>
    private sealed class Entry(long ticks, long size, string queue, List<string>? after)
    {
        public long Ticks { get; } = ticks;
        public long Size { get; } = size;
        public string Queue { get; } = queue;
        public List<string>? After { get; } = after;
        public bool Seen { get; set; }
    }

    private PendingQueues(QueueHome home, Dictionary<string, Entry> known)
    {
        _home = home;
        _known = known;
    }

    private string PathOf => Path.Combine(_home.Root, "index", "pending.queues");

    public static PendingQueues Load(QueueHome home)
    {
        var known = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var cache = new PendingQueues(home, known);
        var queues = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            if (!File.Exists(cache.PathOf))
            {
                return cache; // none yet (a thrown FileNotFoundException costs more than this check)
            }
            using var reader = new StreamReader(cache.PathOf, Encoding.UTF8, false, 1 << 16);
            while (reader.ReadLine() is { } line)
            {
                // "<ticks> <size> <queue> <parents or -> <name>", parsed without splitting the line.
                var span = line.AsSpan();
                if (!Field(ref span, out var ticksText) || !Field(ref span, out var sizeText) || !Field(ref span, out var queueText)
                    || !Field(ref span, out var afterText) || span.IsEmpty
                    || !long.TryParse(ticksText, NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                    || !long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
                {
                    continue;
                }
                var queueName = queueText.ToString();
                if (!queues.TryGetValue(queueName, out var queue))
                {
                    queues[queueName] = queue = queueName;
                }
                var after = afterText is "-" ? null : afterText.ToString().Split(',').ToList();
                known[span.ToString()] = new Entry(ticks, size, queue, after);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            known.Clear(); // none yet, or unreadable: every file is read
        }
        return cache;
    }

    private static bool Field(ref ReadOnlySpan<char> rest, out ReadOnlySpan<char> field)
    {
        var space = rest.IndexOf(' ');
        if (space <= 0)
        {
            field = default;
            return false;
        }
        field = rest[..space];
        rest = rest[(space + 1)..];
        return true;
    }

    /// <summary>The queue and parents of a listed pending file; null when it is gone or names no valid queue.</summary>
    public (string Queue, List<string>? After)? Of(FileInfo file)
    {
        long ticks, size;
        try
        {
            ticks = file.LastWriteTimeUtc.Ticks; // one stat, for both
            size = file.Length;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null; // RACE: claimed since it was listed
        }
        if (_known.TryGetValue(file.Name, out var known) && known.Ticks == ticks && known.Size == size)
        {
            known.Seen = true;
            _hits++;
            return (known.Queue, known.After);
        }
        if (JobPrefix.Read(file.FullName) is not { } found)
        {
            return null;
        }
        _read.Add((file.Name, new Entry(ticks, size, found.Queue, found.After)));
        return found;
    }

    /// <summary>Writes what was seen, when the backlog is large and the file differs enough to be worth it.</summary>
    public void Save()
    {
        var count = _hits + _read.Count;
        var gone = _known.Count - _hits;
        if (count < Threshold ? _known.Count == 0 : _read.Count + gone < Math.Max(100, count / 50))
        {
            return;
        }
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(PathOf)!);
            var staged = $"{PathOf}.{Environment.ProcessId}.tmp";
            using (var writer = new StreamWriter(staged, append: false, new UTF8Encoding(false), 1 << 16))
            {
                if (count >= Threshold)
                {
                    foreach (var (name, entry) in _known.Where(k => k.Value.Seen).Select(k => (k.Key, k.Value)).Concat(_read))
                    {
                        if (!name.Contains('\n'))
                        {
                            writer.Write($"{entry.Ticks} {entry.Size} {entry.Queue} {(entry.After is { Count: > 0 } a ? string.Join(',', a) : "-")} {name}\n");
                        }
                    }
                }
            }
            if (Renames.Move(staged, PathOf, noReplace: false) != MoveResult.Moved)
            {
                File.Delete(staged);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only home: the next status reads the files again.
        }
    }
}
