using QueueCtl.Jobs;
using QueueCtl.Protocol;

namespace QueueCtl.Views;

/// <summary>
/// One page of jobs in enqueue order (oldest or newest first), at the cost of the page rather than
/// of the history. The order key of a job is its enqueue time and then its id. An id made by
/// <see cref="JobId.New"/> starts with its creation time, so its key comes from the name alone; a
/// job with an id of its own (or a dropped file's name) is read for its created_at. completed/ and
/// dead/, which grow with the history, come from the finished index (FinishedIndex: their ids in
/// order, read from the start or the end as far as the page needs); the other folders are listed.
/// Without a filter only the page's files are read; with one, files are read in order until the
/// page is full, so a filter that most jobs match costs about a page and a rare one reads the
/// folder (it has to: nothing else knows which jobs match).
/// </summary>
internal sealed record JobPage(List<StoredJob> Jobs, int? Total, bool More)
{
    /// <summary>Jobs of <paramref name="states"/>, ordered, matching <paramref name="filter"/>, from <paramref name="offset"/>, at most <paramref name="limit"/>.</summary>
    public static JobPage Take(JobStore store, IEnumerable<string> states, JobFilter filter, bool newest, int offset, int limit, DateTime now)
    {
        var views = new List<FinishedView>();
        try
        {
            return Take(store, states, filter, newest, offset, limit, now, views);
        }
        finally
        {
            views.ForEach(v => v.Dispose());
        }
    }

    /// <param name="views">The finished views opened, for the caller to close once the page is read.</param>
    private static JobPage Take(JobStore store, IEnumerable<string> states, JobFilter filter, bool newest, int offset, int limit, DateTime now,
        List<FinishedView> views)
    {
        var sources = new List<IEnumerable<Entry>>();
        var order = newest ? Comparer<Entry>.Create((a, b) => Compare(b, a)) : Comparer<Entry>.Create(Compare);
        long total = 0;
        var index = new FinishedIndex(store.Home);
        foreach (var state in states)
        {
            // completed/ and dead/ through the finished index: their ids in order without a listing.
            if (state is JobState.Completed or JobState.Dead && index.Open(state, now) is { } view)
            {
                views.Add(view);
                total += view.Count;
                sources.Add(view.Entries(newest).Select(e => new Entry(state, store.Home.JobPath(state, e.Id), e.Id, e.Created, null)));
                continue;
            }
            var entries = Listed(store, state, newest);
            total += entries.Count;
            // Without a filter only the first offset + limit (and one more, to know there is more)
            // are wanted: O(n log k), not a sort of all n.
            sources.Add(filter.IsEmpty ? Smallest(entries, (int)Math.Min((long)offset + limit + 1, entries.Count), order) : Sorted(entries, order));
        }
        var page = new List<StoredJob>();
        var matched = 0;
        var more = false;
        foreach (var entry in Merge(sources, order))
        {
            if (filter.IsEmpty && matched < offset)
            {
                matched++; // skipped without a read
                continue;
            }
            if (page.Count == limit)
            {
                more = true; // one past the page: there is more, and how much is not read
                break;
            }
            // RACE: a file moved since the listing (or the index) is left out of this snapshot.
            if ((entry.Read ?? store.ReadFile(entry.State, entry.Path)) is not { } stored || !filter.Matches(stored))
            {
                continue;
            }
            if (matched++ >= offset)
            {
                page.Add(stored);
            }
        }
        return new JobPage(page, filter.IsEmpty ? (int)total : more ? null : matched, more);
    }

    /// <summary>A folder listed (the unfinished states, or a finished one the index cannot answer for): keys from names, else from the file.</summary>
    private static List<Entry> Listed(JobStore store, string state, bool newest)
    {
        var entries = new List<Entry>();
        foreach (var path in store.Files(state))
        {
            var id = Path.GetFileNameWithoutExtension(path);
            if (JobId.TimeOf(id) is { } created)
            {
                entries.Add(new Entry(state, path, id, created, null));
            }
            else if (store.ReadFile(state, path) is { } stored)
            {
                // An unreadable file sorts last either way, as it always did.
                entries.Add(new Entry(state, path, id, stored.Job?.CreatedAt ?? (newest ? DateTime.MinValue : DateTime.MaxValue), stored));
            }
        }
        return entries;
    }

    private static List<Entry> Sorted(List<Entry> entries, IComparer<Entry> order)
    {
        entries.Sort(order);
        return entries;
    }

    /// <summary>Several ordered sequences as one, in order, read only as far as the caller goes.</summary>
    private static IEnumerable<Entry> Merge(List<IEnumerable<Entry>> sources, IComparer<Entry> order)
    {
        var heads = new PriorityQueue<IEnumerator<Entry>, Entry>(order);
        var all = sources.Select(s => s.GetEnumerator()).ToList();
        try
        {
            foreach (var source in all)
            {
                if (source.MoveNext())
                {
                    heads.Enqueue(source, source.Current);
                }
            }
            while (heads.TryDequeue(out var source, out var entry))
            {
                yield return entry;
                if (source.MoveNext())
                {
                    heads.Enqueue(source, source.Current);
                }
            }
        }
        finally
        {
            all.ForEach(s => s.Dispose());
        }
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
