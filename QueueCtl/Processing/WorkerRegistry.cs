using System.Text.Json;
using QueueCtl.Config;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>workers/: who is alive. A worker is dead when its process is gone (same host) or its heartbeat is older than the lease.</summary>
internal sealed class WorkerRegistry(QueueHome home)
{
    public string PathOf(string workerId) => Path.Combine(home.Workers, workerId + ".json");

    /// <summary>Writes a worker's record; a worker's home adds the queues it serves (<see cref="QueueHome.WorkerQueues"/>).</summary>
    public void Write(WorkerRecord record)
    {
        if (record.Queues is null && home.WorkerQueues is { } queues)
        {
            record = record with { Queues = [.. queues] };
        }
        AtomicFile.Write(home, PathOf(record.Id), JsonSerializer.SerializeToUtf8Bytes(record, WorkerJson.Files.WorkerRecord), noReplace: false, durable: false);
    }

    public void Remove(string workerId) => File.Delete(PathOf(workerId));

    /// <summary>Sets the record's mtime to the file system's now (a renewal that needs no free space); false when it cannot.</summary>
    public bool Touch(string workerId) => Native.TouchNow(PathOf(workerId));

    public WorkerRecord? Read(string workerId)
    {
        try
        {
            // Another host may be replacing the record right now: SharedFile waits out an ESTALE.
            var bytes = SharedFile.ReadAllBytes(PathOf(workerId));
            return JsonSerializer.Deserialize(bytes, WorkerJson.Default.WorkerRecord);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or JsonException or NotRegularFileException)
        {
            return null;
        }
    }

    public IReadOnlyList<WorkerRecord> ReadAll()
    {
        if (!Directory.Exists(home.Workers))
        {
            return [];
        }
        // A loop, not a LINQ chain: under NativeAOT the chain's first generic virtual call
        // (Where(...).Select(...)) is resolved at run time, a few percent of `status`.
        var records = new List<WorkerRecord>();
        foreach (var path in Directory.EnumerateFiles(home.Workers, "*.json"))
        {
            if (!Path.GetFileName(path).StartsWith('.') && Read(Path.GetFileNameWithoutExtension(path)) is { } record)
            {
                records.Add(record);
            }
        }
        records.Sort(static (a, b) => a.StartedAt != b.StartedAt ? a.StartedAt.CompareTo(b.StartedAt) : string.CompareOrdinal(a.Id, b.Id));
        return records;
    }

    /// <summary>
    /// A judge of liveness for one moment. Heartbeats are compared on the file system's clock, not
    /// the hosts': the age of a worker is (mtime of a probe file touched now) − (mtime of its
    /// workers/&lt;id&gt;.json, rewritten at each heartbeat). Hosts with skewed clocks sharing one
    /// network file system then agree on ages. A pid is only checked for a worker of this host.
    /// </summary>
    public Liveness Judge(Settings settings, DateTime hostNow) => new(this, settings, FileSystemNow(hostNow));

    /// <summary>The file system's idea of now: the mtime of a file written this instant under tmp/; else <paramref name="hostNow"/>.</summary>
    public DateTime FileSystemNow(DateTime hostNow)
    {
        var probe = Path.Combine(home.Tmp, $".clock-probe-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}");
        try
        {
            File.WriteAllBytes(probe, []);
            var now = File.GetLastWriteTimeUtc(probe);
            File.Delete(probe);
            return now;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return hostNow; // a read-only or missing home: this host's clock is the best we have
        }
    }

    /// <summary>When a worker's registration was last written, on the file system's clock.</summary>
    public DateTime HeartbeatOf(WorkerRecord record)
    {
        var mtime = File.GetLastWriteTimeUtc(PathOf(record.Id));
        return mtime.Year < 1980 ? record.HeartbeatAt : mtime; // 1601: the file is gone
    }
}

/// <summary>Liveness judged at one reading of the file system's clock.</summary>
internal sealed class Liveness(WorkerRegistry registry, Settings settings, DateTime fileSystemNow)
{
    /// <summary>Why a worker counts as dead, or null while it is alive.</summary>
    public string? DeathReason(WorkerRecord record)
    {
        if (record.Host == WorkerId.Host && !Native.ProcessExists(record.Pid))
        {
            return $"worker {record.Id} died (process {record.Pid} is gone)";
        }
        var silence = HeartbeatAge(record);
        if (silence.TotalSeconds > settings.WorkerLeaseSeconds)
        {
            return $"worker {record.Id} died (no heartbeat for {(int)silence.TotalSeconds} s)";
        }
        return null;
    }

    public TimeSpan HeartbeatAge(WorkerRecord record) => fileSystemNow - registry.HeartbeatOf(record);
}
