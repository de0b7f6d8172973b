using System.Globalization;
using QueueCtl.Jobs;
using QueueCtl.Protocol;

namespace QueueCtl.Views;

/// <summary>
/// One page of jobs in enqueue order (oldest or newest first), at the cost of the page rather than
/// of the history. The order key of a job is its enqueue time and then its id. An id made by
/// <see cref="JobId.New"/> starts with its creation time, so its key comes from the name alone (a
/// readdir, no read); a job with an id of its own (or a dropped file's name) is read for its
/// created_at. Without a filter only the page's files are read; with one, files are read in order
/// until the page is full, so a filter that most jobs match costs about a page and a rare one reads
/// the folder (it has to: nothing else knows which jobs match). The folders stay the truth: there
/// is no index to go stale.
/// </summary>
internal sealed record JobPage(List<StoredJob> Jobs, int? Total, bool More)
{
    /// <summary>Jobs of <paramref name="states"/>, ordered, matching <paramref name="filter"/>, from <paramref name="offset"/>, at most <paramref name="limit"/>.</summary>
    public static JobPage Take(JobStore store, IEnumerable<string> states, JobFilter filter, bool newest, int offset, int limit)
    {
        var entries = new List<Entry>();
        foreach (var state in states)
        {
            foreach (var path in store.Files(state))
            {
                var id = Path.GetFileNameWithoutExtension(path);
                if (TimeOfGeneratedId(id) is { } created)
                {
                    entries.Add(new Entry(state, path, id, created, null));
                }
                else if (JobStore.Read(state, path) is { } stored)
                {
                    // An unreadable file sorts last either way, as it always did.
                    entries.Add(new Entry(state, path, id, stored.Job?.CreatedAt ?? (newest ? DateTime.MinValue : DateTime.MaxValue), stored));
                }
            }
        }
        var order = newest ? Comparer<Entry>.Create((a, b) => Compare(b, a)) : Comparer<Entry>.Create(Compare);
        var page = new List<StoredJob>();
        if (filter.IsEmpty)
        {
            var wanted = (int)Math.Min((long)offset + limit, entries.Count);
            foreach (var entry in Smallest(entries, wanted, order).Skip(offset))
            {
                if ((entry.Read ?? JobStore.Read(entry.State, entry.Path)) is { } stored)
                {
                    page.Add(stored); // RACE: a file moved since the listing is left out of this snapshot.
                }
            }
            return new JobPage(page, entries.Count, entries.Count > offset + page.Count);
        }
        entries.Sort(order);
        var matched = 0;
        var reachedEnd = true;
        foreach (var entry in entries)
        {
            if ((entry.Read ?? JobStore.Read(entry.State, entry.Path)) is not { } stored || !filter.Matches(stored))
            {
                continue;
            }
            if (matched >= offset + (long)limit)
            {
                reachedEnd = false; // one match past the page: there is more, and how much is not read
                break;
            }
            if (matched++ >= offset)
            {
                page.Add(stored);
            }
        }
        return new JobPage(page, reachedEnd ? matched : null, !reachedEnd);
    }

    /// <summary>The creation time in an id made by <see cref="JobId.New"/> (yyyyMMdd-HHmmss-fff-xxxxxxxx), else null.</summary>
    public static DateTime? TimeOfGeneratedId(string id)
    {
        if (id.Length != 28 || id[8] != '-' || id[15] != '-' || id[19] != '-')
        {
            return null;
        }
        foreach (var c in id.AsSpan(20))
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return null;
            }
        }
        return DateTime.TryParseExact(id.AsSpan(0, 19), "yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : null;
    }

    private sealed record Entry(string State, string Path, string Id, DateTime Created, StoredJob? Read);

    private static int Compare(Entry a, Entry b)
    {
        var byTime = a.Created.CompareTo(b.Created);
        return byTime != 0 ? byTime : string.CompareOrdinal(a.Id, b.Id);
    }

    /// <summary>The first <paramref name="count"/> entries in <paramref name="order"/>, in order: O(n log count), not a sort of all n.</summary>
    private static List<Entry> Smallest(List<Entry> entries, int count, IComparer<Entry> order)
    {
        if (count * 4L >= entries.Count)
        {
            entries.Sort(order);
            return entries.GetRange(0, count);
        }
        // A max-heap of the best `count` so far: its root is the worst kept, replaced by anything better.
        var kept = new PriorityQueue<Entry, Entry>(count + 1, Comparer<Entry>.Create((a, b) => order.Compare(b, a)));
        foreach (var entry in entries)
        {
            if (kept.Count < count)
            {
                kept.Enqueue(entry, entry);
            }
            else if (count > 0 && order.Compare(entry, kept.Peek()) < 0)
            {
                kept.EnqueueDequeue(entry, entry);
            }
        }
        var result = new List<Entry>(count);
        while (kept.TryDequeue(out var entry, out _))
        {
            result.Add(entry);
        }
        result.Reverse();
        return result;
    }
}
