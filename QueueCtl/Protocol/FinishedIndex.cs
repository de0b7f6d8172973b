using System.Globalization;
using System.Text;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/*
 * The finished index: how many jobs completed/ and dead/ hold and their ids in enqueue order,
 * without listing folders of 200,000 names (a listing alone costs ~0.2 s there). The folders stay
 * the truth; the index is derived from them and rebuilt from them whenever it may be wrong.
 *
 *   index/<state>.snapshot   "queuectl-index 1 count=N trusted=T built=B written=W <ledger>=<offset> ...",
 *                            then the folder's ids in enqueue order, one per line ("<id>" when the
 *                            id carries its creation time, "@<ticks> <name>" otherwise), then
 *                            "end N". Exact up to the ledger offsets it names.
 *   index/<state>/*.log      the ledgers (FinishedLedger): one per writing process, a line "+id" or
 *                            "-id" after each move into or out of the folder.
 *   index/lock               created exclusively by whoever rebuilds or folds.
 *   index/doubt              written by recovery: rebuild both snapshots.
 *
 * A reader takes the snapshot's header and adds the ledger lines after its offsets: each line is a
 * real change of membership (a no-replace rename in, a rename out), so the sum of + and - is the
 * change of the count, whatever order several writers' ledgers are read in. Only the page a reader
 * shows is read from the snapshot (from its start, or from its end for newest first).
 *
 * Doubt (then the reader rebuilds from the folder, ls being the truth):
 *   - no snapshot, or one whose header or "end N" line is missing (a crash or power cut mid-write);
 *   - the folder's mtime is later than the snapshot's listing and than every ledger's mtime, by a
 *     change more than Timing.IndexSettle ago: a file moved without its ledger line (a crash
 *     between the rename and the append, rm or cp by hand, an older queuectl). A change of the
 *     last Timing.IndexSettle may still have its line on the way.
 *   - index/doubt exists: recovery took a dead worker's files (it may have died mid-move);
 *   - the snapshot is older than Timing.IndexReaderRebuildAfter (a home with no worker running).
 * A worker rebuilds every Timing.IndexRebuildEvery anyway (an rm by hand while other moves write lines is
 * invisible to the mtime rule), and folds the ledgers into the snapshot when they hold FoldLines
 * lines or the last fold is Timing.IndexFoldAfter old, so a reader never adds more than a few thousand. A
 * fold settles each id with a line by a stat of its file. A rebuild lists the folder between two
 * readings of the ledgers' lengths; a line written between the two is settled by a stat too.
 */

/// <summary>The finished index of one home (see the protocol note at the top of this file).</summary>
internal sealed class FinishedIndex(QueueHome home)
{
    public static readonly string[] States = [JobState.Completed, JobState.Dead];
    public const int FoldLines = 2000;

    private const string Magic = "queuectl-index";

    public string Folder => Path.Combine(home.Root, "index");

    public string SnapshotPath(string state) => Path.Combine(Folder, state + ".snapshot");

    private string LockPath => Path.Combine(Folder, "lock");

    /// <summary>Present when recovery asked for a rebuild (<see cref="Invalidate"/>).</summary>
    private string DoubtPath => Path.Combine(Folder, "doubt");

    /// <summary>
    /// The folder's count and ordered ids, or null when the index cannot be trusted and cannot be
    /// rebuilt now (another process holds the lock, a read-only home): the caller lists the folder.
    /// </summary>
    public FinishedView? Open(string state, DateTime now)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                // The header and the lines a page reads come from one open file: a fold's rename cannot come between.
                var stream = Snapshot.OpenOrNull(SnapshotPath(state));
                if (stream is not null && Snapshot.ReadHeader(stream) is { } header)
                {
                    var ledgers = Ledger.List(home.Root, state);
                    if (!InDoubt(state, header, ledgers, now) && now - header.Built <= Timing.IndexReaderRebuildAfter)
                    {
                        return new FinishedView(home, state, stream, header, Tail.Read(header, ledgers));
                    }
                }
                stream?.Dispose();
                if (attempt > 0 || !Rebuild(now, [state]))
                {
                    return null;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                return null; // RACE: a snapshot replaced or a ledger deleted while read; the folder answers instead.
            }
        }
    }

    /// <summary>
    /// A worker's upkeep, every few seconds: rebuild when in doubt or every <see cref="Timing.IndexRebuildEvery"/>,
    /// fold when the ledgers hold <see cref="FoldLines"/> lines or lines older than <see cref="Timing.IndexFoldAfter"/>.
    /// </summary>
    public void Upkeep(DateTime now)
    {
        var rebuild = new List<string>();
        var fold = new List<string>();
        foreach (var state in States)
        {
            var header = Snapshot.ReadHeader(SnapshotPath(state));
            var ledgers = Ledger.List(home.Root, state);
            if (header is null || InDoubt(state, header, ledgers, now) || now - header.Built > Timing.IndexRebuildEvery)
            {
                rebuild.Add(state);
                continue;
            }
            var tail = Tail.Read(header, ledgers);
            if (tail.Lines >= FoldLines || tail.Lines > 0 && now - header.Written > Timing.IndexFoldAfter
                || ledgers.Any(l => Consumed(l, header) && Closed(l, ledgers, now))) // or files left to delete
            {
                fold.Add(state);
            }
        }
        if (rebuild.Count > 0)
        {
            Rebuild(now, rebuild);
        }
        if (fold.Count > 0)
        {
            WithLock(now, () => fold.ForEach(s => Fold(s, now)));
        }
    }

    /// <summary>Rebuilds snapshots from the folders (both by default); false when another process holds the lock.</summary>
    public bool Rebuild(DateTime now, IReadOnlyList<string>? states = null) => WithLock(now, () =>
    {
        if (File.Exists(DoubtPath))
        {
            states = States; // recovery's doubt is about both folders
            File.Delete(DoubtPath); // before the listing: a doubt raised during it stays for the next rebuild
        }
        foreach (var state in states ?? States)
        {
            RebuildState(state, now);
        }
    });

    /// <summary>
    /// Marks the index as in doubt, so that the next reader or upkeep rebuilds it (recovery does,
    /// after a worker died: maybe between a move and its ledger line). The snapshots stay, with the
    /// creation times they keep for ids that do not carry one. Never throws.
    /// </summary>
    public void Invalidate()
    {
        try
        {
            Directory.CreateDirectory(Folder);
            File.WriteAllBytes(DoubtPath, []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only or vanished home: the doubt rule and the periodic rebuild remain.
        }
    }

    private bool InDoubt(string state, Snapshot.Header header, List<Ledger.File> ledgers, DateTime now)
    {
        var folder = new DirectoryInfo(home.StateFolder(state));
        if (!folder.Exists || File.Exists(DoubtPath))
        {
            return true;
        }
        var changed = folder.LastWriteTimeUtc;
        return changed > Trusted(header, ledgers) && now - changed >= Timing.IndexSettle;
    }

    private void RebuildState(string state, DateTime now)
    {
        var folder = home.StateFolder(state);
        var trusted = Directory.GetLastWriteTimeUtc(folder); // before the listing: a later change is newer
        var before = Ledger.List(home.Root, state);
        var known = Snapshot.OwnKeys(SnapshotPath(state)); // the creation times of ids that do not carry one
        var entries = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(folder))
        {
            var name = Path.GetFileName(path);
            if (QueueHome.IsJobFileName(name) && !name.Contains('\n'))
            {
                var id = name[..^".json".Length];
                entries[id] = KeyOf(state, id, known);
            }
        }
        var after = Ledger.List(home.Root, state);
        // Moves during the listing: their lines are between the two readings; the file says where it is now.
        foreach (var id in Tail.Between(before, after))
        {
            if (File.Exists(home.JobPath(state, id)))
            {
                entries[id] = KeyOf(state, id, known);
            }
            else
            {
                entries.Remove(id);
            }
        }
        Snapshot.Write(SnapshotPath(state), entries, trusted, after, built: now, written: now);
    }

    private void Fold(string state, DateTime now)
    {
        var header = Snapshot.ReadHeader(SnapshotPath(state));
        var ledgers = Ledger.List(home.Root, state);
        if (header is null || InDoubt(state, header, ledgers, now))
        {
            RebuildState(state, now);
            return;
        }
        var tail = Tail.Read(header, ledgers);
        // Ledgers folded before this fold and closed go first; the new header no longer names
        // them, so a writer that makes the name again is read from its start.
        var deletable = ledgers.Where(l => Consumed(l, header) && Closed(l, ledgers, now)).ToList();
        if (tail.Lines == 0 && deletable.Count == 0)
        {
            return;
        }
        deletable.ForEach(l => File.Delete(l.Path));
        var kept = ledgers.Except(deletable).ToList();
        var entries = Snapshot.ReadAll(SnapshotPath(state));
        // Each id with a line is settled by where its file is now, not by the sum of its lines:
        // a line that a rebuild's listing already covered would otherwise count twice.
        foreach (var id in tail.Net.Keys)
        {
            if (!File.Exists(home.JobPath(state, id)))
            {
                entries.Remove(id);
            }
            else if (!entries.ContainsKey(id))
            {
                entries[id] = KeyOf(state, id, known: null);
            }
        }
        Snapshot.Write(SnapshotPath(state), entries, Trusted(header, ledgers), kept, built: header.Built, written: now);
    }

    /// <summary>The latest change the index accounts for: the snapshot's listing or the last ledger line.</summary>
    private static DateTime Trusted(Snapshot.Header header, List<Ledger.File> ledgers) =>
        ledgers.Aggregate(header.Trusted, (max, l) => l.Modified > max ? l.Modified : max);

    private static bool Consumed(Ledger.File ledger, Snapshot.Header header) =>
        header.Offsets.TryGetValue(ledger.Name, out var offset) && ledger.Length <= offset;

    /// <summary>A ledger nobody appends to any more: its process is gone (this host), it was rotated, or it has been untouched for <see cref="Timing.IndexQuietLedger"/>.</summary>
    private static bool Closed(Ledger.File ledger, List<Ledger.File> all, DateTime now)
    {
        if (FinishedLedger.ParseName(ledger.Name) is not { } name || ledger.Modified < now - Timing.IndexQuietLedger)
        {
            return true;
        }
        if (name.Host == FinishedLedger.Host && !Native.ProcessExists(name.Pid))
        {
            return true;
        }
        return all.Any(other => FinishedLedger.ParseName(other.Name) is { } o && o.Writer == name.Writer && o.Generation > name.Generation);
    }

    /// <summary>The order key of a finished job: the time in its id, else its created_at (read once, then kept in the snapshot).</summary>
    private long KeyOf(string state, string id, Dictionary<string, long>? known) =>
        known is not null && JobId.TimeOf(id) is null && known.TryGetValue(id, out var ticks)
            ? ticks
            : KeyOf(home, state, id) ?? DateTime.MaxValue.Ticks; // gone since the listing: after every other, until the next fold

    /// <summary>
    /// The order key of a finished job: the time in its id, else its file's created_at (an
    /// unreadable file sorts after every other, oldest first); null when the file is gone.
    /// </summary>
    public static long? KeyOf(QueueHome home, string state, string id)
    {
        if (JobId.TimeOf(id) is { } created)
        {
            return created.Ticks;
        }
        var stored = JobStore.Read(state, home.JobPath(state, id));
        return stored is null ? null : stored.Job?.CreatedAt.Ticks ?? DateTime.MaxValue.Ticks;
    }

    private bool WithLock(DateTime now, Action work)
    {
        try
        {
            Directory.CreateDirectory(Folder);
            if (!TryLock(now))
            {
                return false;
            }
            try
            {
                work();
                return true;
            }
            finally
            {
                File.Delete(LockPath);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // a read-only home, a full disk: the folders answer instead
        }
    }

    private bool TryLock(DateTime now)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                using var stream = new FileStream(LockPath, FileMode.CreateNew, FileAccess.Write);
                stream.Write(Encoding.UTF8.GetBytes($"{Environment.MachineName} {Environment.ProcessId}\n"));
                return true;
            }
            catch (IOException) when (File.Exists(LockPath))
            {
                if (attempt > 0 || !StaleLockRemoved(now))
                {
                    return false;
                }
            }
        }
        return false;
    }

    /// <summary>A lock whose process is gone (this host) or older than <see cref="Timing.IndexStaleLock"/> is removed.</summary>
    private bool StaleLockRemoved(DateTime now)
    {
        try
        {
            var parts = File.ReadAllText(LockPath).Split(' ', StringSplitOptions.TrimEntries);
            var gone = parts.Length == 2 && parts[0] == Environment.MachineName && int.TryParse(parts[1], out var pid) && !Native.ProcessExists(pid);
            if (gone || File.GetLastWriteTimeUtc(LockPath) < now - Timing.IndexStaleLock)
            {
                File.Delete(LockPath); // RACE: two removers: both then try CreateNew, one wins
                return true;
            }
        }
        catch (FileNotFoundException)
        {
            return true; // released meanwhile
        }
        return false;
    }

    /// <summary>The ledgers of one folder as one stat each saw them (length and mtime together).</summary>
    internal static class Ledger
    {
        public sealed record File(string Name, string Path, long Length, DateTime Modified);

        public static List<File> List(string root, string state)
        {
            var folder = new DirectoryInfo(FinishedLedger.Folder(root, state));
            if (!folder.Exists)
            {
                return [];
            }
            var files = new List<File>();
            foreach (var info in folder.EnumerateFiles("*.log"))
            {
                files.Add(new File(info.Name, info.FullName, info.Length, info.LastWriteTimeUtc));
            }
            return files;
        }
    }

    /// <summary>The ledger lines after a snapshot's offsets: the net change per id and the number of lines.</summary>
    internal sealed record Tail(Dictionary<string, int> Net, int Lines)
    {
        public static Tail Read(Snapshot.Header header, List<Ledger.File> ledgers)
        {
            var net = new Dictionary<string, int>(StringComparer.Ordinal);
            var lines = 0;
            foreach (var ledger in ledgers)
            {
                var offset = header.Offsets.GetValueOrDefault(ledger.Name);
                if (offset > ledger.Length)
                {
                    offset = 0; // a name written again after its file was deleted
                }
                // Summed, not clamped line by line: the ledgers of several writers come in any order.
                lines += ReadLines(ledger.Path, offset, ledger.Length, (sign, id) => net[id] = net.GetValueOrDefault(id) + sign);
            }
            foreach (var (id, sum) in net)
            {
                net[id] = Math.Clamp(sum, -1, 1); // per id the lines alternate: the sum is -1, 0 or 1
            }
            return new Tail(net, lines);
        }

        /// <summary>The ids with lines written between two listings of the ledgers.</summary>
        public static HashSet<string> Between(List<Ledger.File> before, List<Ledger.File> after)
        {
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var ledger in after)
            {
                var from = before.FirstOrDefault(b => b.Name == ledger.Name)?.Length ?? 0;
                ReadLines(ledger.Path, from > ledger.Length ? 0 : from, ledger.Length, (_, id) => ids.Add(id));
            }
            return ids;
        }

        private static int ReadLines(string path, long from, long to, Action<int, string> line)
        {
            if (to <= from)
            {
                return 0;
            }
            byte[] bytes;
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
                bytes = new byte[to - from];
                stream.Position = from;
                stream.ReadExactly(bytes);
            }
            catch (FileNotFoundException)
            {
                return 0; // RACE: folded and deleted since it was listed; the new snapshot has its lines
            }
            var count = 0;
            var start = 0;
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] != '\n')
                {
                    continue;
                }
                if (i - start >= 2 && bytes[start] is (byte)'+' or (byte)'-')
                {
                    line(bytes[start] == '+' ? 1 : -1, Encoding.UTF8.GetString(bytes, start + 1, i - start - 1));
                    count++;
                }
                start = i + 1;
            }
            return count;
        }
    }

    /// <summary>The snapshot file: header, ordered lines, end line.</summary>
    internal static class Snapshot
    {
        public sealed record Header(int Count, DateTime Trusted, DateTime Built, DateTime Written, Dictionary<string, long> Offsets);

        /// <summary>The header, when the file has one and ends with its "end N" line; else null (rebuild).</summary>
        public static Header? ReadHeader(string path)
        {
            using var stream = OpenOrNull(path);
            return stream is null ? null : ReadHeader(stream);
        }

        /// <summary>The header of an open snapshot (its position is left anywhere).</summary>
        public static Header? ReadHeader(FileStream stream)
        {
            stream.Position = 0;
            var first = new StreamReader(stream, Encoding.UTF8, false, 4096, leaveOpen: true).ReadLine();
            var parts = first?.Split(' ');
            if (parts is null || parts.Length < 6 || parts[0] != Magic || parts[1] != "1"
                || !TryValue(parts[2], "count", out var count) || !TryValue(parts[3], "trusted", out var trusted)
                || !TryValue(parts[4], "built", out var built) || !TryValue(parts[5], "written", out var written))
            {
                return null;
            }
            var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var part in parts.Skip(6))
            {
                var equals = part.LastIndexOf('=');
                if (equals <= 0 || !long.TryParse(part.AsSpan(equals + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                {
                    return null;
                }
                offsets[part[..equals]] = offset;
            }
            // The last line must say the count: a file cut short by a crash is not a snapshot.
            var end = Encoding.UTF8.GetBytes($"end {count}\n");
            if (stream.Length < end.Length)
            {
                return null;
            }
            stream.Position = stream.Length - end.Length;
            var tail = new byte[end.Length];
            stream.ReadExactly(tail);
            return tail.AsSpan().SequenceEqual(end)
                ? new Header((int)count, Utc(trusted), Utc(built), Utc(written), offsets)
                : null;
        }

        private static DateTime Utc(long ticks) => new(Math.Clamp(ticks, 0, DateTime.MaxValue.Ticks), DateTimeKind.Utc);

        private static bool TryValue(string part, string key, out long value)
        {
            value = 0;
            return part.StartsWith(key + "=", StringComparison.Ordinal)
                && long.TryParse(part.AsSpan(key.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out value);
        }

        public static FileStream? OpenOrNull(string path)
        {
            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return null;
            }
        }

        /// <summary>(id, key) of a line, or null for the header and end lines.</summary>
        public static (string Id, long Key)? Parse(string line)
        {
            if (line.Length == 0 || line.StartsWith(Magic, StringComparison.Ordinal) || line.StartsWith("end ", StringComparison.Ordinal))
            {
                return null;
            }
            if (line[0] == '@')
            {
                var space = line.IndexOf(' ');
                return space > 1 && long.TryParse(line.AsSpan(1, space - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                    ? (line[(space + 1)..], Math.Min(ticks, DateTime.MaxValue.Ticks))
                    : null;
            }
            return JobId.TimeOf(line) is { } created ? (line, created.Ticks) : null;
        }

        /// <summary>Every entry (a fold rewrites them all).</summary>
        public static Dictionary<string, long> ReadAll(string path)
        {
            var entries = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var line in File.ReadLines(path))
            {
                if (Parse(line) is { } entry)
                {
                    entries[entry.Id] = entry.Key;
                }
            }
            return entries;
        }

        /// <summary>The creation times kept for ids that do not carry one (a rebuild does not read those files again).</summary>
        public static Dictionary<string, long> OwnKeys(string path)
        {
            var keys = new Dictionary<string, long>(StringComparer.Ordinal);
            if (!File.Exists(path))
            {
                return keys;
            }
            foreach (var line in File.ReadLines(path))
            {
                if (line.StartsWith('@') && Parse(line) is { } entry)
                {
                    keys[entry.Id] = entry.Key;
                }
            }
            return keys;
        }

        public static void Write(string path, Dictionary<string, long> entries, DateTime trusted, List<Ledger.File> offsets, DateTime built, DateTime written)
        {
            var sorted = entries.Select(e => (Id: e.Key, Key: e.Value)).ToList();
            sorted.Sort(Compare);
            var staged = $"{path}.{Environment.ProcessId}.tmp";
            using (var file = new FileStream(staged, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            using (var writer = new StreamWriter(file, new UTF8Encoding(false), 1 << 16))
            {
                writer.Write($"{Magic} 1 count={sorted.Count} trusted={trusted.Ticks} built={built.Ticks} written={written.Ticks}");
                foreach (var ledger in offsets)
                {
                    writer.Write($" {ledger.Name}={ledger.Length}");
                }
                writer.Write('\n');
                foreach (var (id, key) in sorted)
                {
                    writer.Write(JobId.TimeOf(id) is { } created && created.Ticks == key ? id : $"@{key} {id}");
                    writer.Write('\n');
                }
                writer.Write($"end {sorted.Count}\n");
                writer.Flush();
                file.Flush(flushToDisk: true); // a power cut must not leave a good header and end around lost lines
            }
            if (Renames.Move(staged, path, noReplace: false) != MoveResult.Moved)
            {
                File.Delete(staged);
            }
        }

        /// <summary>Enqueue order: creation time, then id (the order of JobPage).</summary>
        public static int Compare((string Id, long Key) a, (string Id, long Key) b)
        {
            var byTime = a.Key.CompareTo(b.Key);
            return byTime != 0 ? byTime : string.CompareOrdinal(a.Id, b.Id);
        }
    }
}
