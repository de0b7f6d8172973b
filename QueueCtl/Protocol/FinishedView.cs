using System.Text;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>
/// One finished folder as the index sees it (<see cref="FinishedIndex.Open"/>): its count, and its
/// ids in enqueue order read from the snapshot's start (oldest first) or end (newest first), merged
/// with the ledger lines not folded in yet. Reading stops where the caller stops: a page costs a
/// page. A file listed here may be gone by the time it is read (a race, as with a folder listing).
/// </summary>
internal sealed class FinishedView(QueueHome home, string state, FileStream snapshot, FinishedIndex.Snapshot.Header header, FinishedIndex.Tail tail) : IDisposable
{
    public string State => state;

    public int Count => Math.Max(0, header.Count + tail.Net.Values.Sum());

    /// <summary>Ledger lines not folded into the snapshot yet (what this reader added up).</summary>
    public int LedgerLines => tail.Lines;

    /// <summary>(id, creation time) in enqueue order, or the reverse.</summary>
    public IEnumerable<(string Id, DateTime Created)> Entries(bool newest)
    {
        var removed = tail.Net.Where(n => n.Value < 0).Select(n => n.Key).ToHashSet(StringComparer.Ordinal);
        var added = new List<(string Id, long Key)>();
        foreach (var (id, net) in tail.Net)
        {
            if (net > 0 && FinishedIndex.KeyOf(home, state, id) is { } key)
            {
                added.Add((id, key));
            }
        }
        var addedIds = added.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        // An id the ledgers add may also be in the snapshot (a rebuild's listing saw it before its line): once.
        Comparison<(string Id, long Key)> order = newest ? (a, b) => FinishedIndex.Snapshot.Compare(b, a) : FinishedIndex.Snapshot.Compare;
        added.Sort(order);

        var next = 0;
        foreach (var line in newest ? Backward(snapshot) : Forward(snapshot))
        {
            if (FinishedIndex.Snapshot.Parse(line) is not { } entry || removed.Contains(entry.Id) || addedIds.Contains(entry.Id))
            {
                continue;
            }
            while (next < added.Count && order(added[next], entry) < 0)
            {
                yield return Result(added[next++]);
            }
            yield return Result(entry);
        }
        while (next < added.Count)
        {
            yield return Result(added[next++]);
        }
    }

    private static (string Id, DateTime Created) Result((string Id, long Key) entry) => (entry.Id, new DateTime(entry.Key, DateTimeKind.Utc));

    public void Dispose() => snapshot.Dispose();

    private static IEnumerable<string> Forward(FileStream stream)
    {
        stream.Position = 0;
        using var reader = new StreamReader(stream, Encoding.UTF8, false, 1 << 16, leaveOpen: true);
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }

    /// <summary>The lines of a file from the last to the first, read in 64 KiB blocks from the end.</summary>
    private static IEnumerable<string> Backward(FileStream stream)
    {
        var block = new byte[64 * 1024];
        var carry = Array.Empty<byte>(); // the start of a line whose end was in the block after
        var position = stream.Length;
        while (position > 0)
        {
            var start = Math.Max(0, position - block.Length);
            var length = (int)(position - start);
            stream.Position = start;
            stream.ReadExactly(block, 0, length);
            position = start;
            var joined = new byte[length + carry.Length];
            block.AsSpan(0, length).CopyTo(joined);
            carry.CopyTo(joined, length);
            var end = joined.Length;
            for (var i = joined.Length - 1; i >= 0; i--)
            {
                if (joined[i] == '\n')
                {
                    if (end > i + 1)
                    {
                        yield return Encoding.UTF8.GetString(joined, i + 1, end - i - 1);
                    }
                    end = i;
                }
            }
            carry = joined[..end];
        }
        if (carry.Length > 0)
        {
            yield return Encoding.UTF8.GetString(carry);
        }
    }
}
