using System.Text.Json;
using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>workers/: who is alive. A worker is dead when its process is gone (same host) or its heartbeat is older than the lease.</summary>
internal sealed class WorkerRegistry(QueueHome home)
{
    public string PathOf(string workerId) => Path.Combine(home.Workers, workerId + ".json");

    public void Write(WorkerRecord record) =>
        AtomicFile.Write(home, PathOf(record.Id), JsonSerializer.SerializeToUtf8Bytes(record, JobJson.Files.WorkerRecord), noReplace: false, durable: false);

    public void Remove(string workerId) => File.Delete(PathOf(workerId));

    public WorkerRecord? Read(string workerId)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(PathOf(workerId)), JobJson.Default.WorkerRecord);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or JsonException)
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
        return Directory.EnumerateFiles(home.Workers, "*.json")
            .Where(p => !Path.GetFileName(p).StartsWith('.'))
            .Select(p => Read(Path.GetFileNameWithoutExtension(p)))
            .OfType<WorkerRecord>()
            .OrderBy(r => r.StartedAt)
            .ToList();
    }

    /// <summary>Why a worker counts as dead, or null while it is alive.</summary>
    public static string? DeathReason(WorkerRecord record, Settings settings, DateTime now)
    {
        if (record.Host == WorkerId.Host && !Native.ProcessExists(record.Pid))
        {
            return $"worker {record.Id} died (process {record.Pid} is gone)";
        }
        var silence = now - record.HeartbeatAt;
        if (silence.TotalSeconds > settings.WorkerLeaseSeconds)
        {
            return $"worker {record.Id} died (no heartbeat for {(int)silence.TotalSeconds} s)";
        }
        return null;
    }
}
