using System.Text;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>
/// A request to cancel a running job: processing/&lt;workerId&gt;/&lt;id&gt;.cancel, written
/// atomically beside the job file by `queuectl cancel`, holding the reason (one line). The worker
/// that runs the job stops the attempt when it sees it (at once on this host, where `cancel`
/// also kills the attempt's processes; at its next heartbeat on another host) and finishes the job as dead
/// with that reason; recovery does the same for a dead worker's job. Not a job file (*.json), so
/// nothing else reads it. ARCHITECTURE.md, "Cancel, remove, retry".
/// </summary>
internal static class CancelRequests
{
    public const string Extension = ".cancel";

    public static string PathOf(QueueHome home, string workerId, string jobId) =>
        Path.Combine(home.ProcessingFolder(workerId), jobId + Extension);

    /// <summary>The reason `queuectl cancel` records, naming who and when.</summary>
    public static string Reason(DateTime now) =>
        $"cancelled by the user (queuectl cancel on host {Environment.MachineName} at {UtcTimestamp.ToText(now)})";

    /// <summary>Writes the request; false when the worker's folder is gone (the job moved on).</summary>
    public static bool Write(QueueHome home, string workerId, string jobId, string reason)
    {
        try
        {
            AtomicFile.Write(home, PathOf(home, workerId, jobId), Encoding.UTF8.GetBytes(reason + "\n"), noReplace: false);
            return true;
        }
        catch (IOException)
        {
            // RACE: the worker stopped (or was recovered) and its folder went: the job is elsewhere now.
            return false;
        }
    }

    /// <summary>The reason of a pending request for this job in this worker's folder, or null.</summary>
    public static string? Read(QueueHome home, string workerId, string jobId)
    {
        try
        {
            var text = SharedFile.ReadAllText(PathOf(home, workerId, jobId)).Trim();
            return text.Length > 0 ? text : "cancelled by the user";
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Present but unreadable: it is still a request.
            return File.Exists(PathOf(home, workerId, jobId)) ? "cancelled by the user" : null;
        }
    }

    public static void Remove(QueueHome home, string workerId, string jobId)
    {
        try
        {
            File.Delete(PathOf(home, workerId, jobId));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // RACE: already gone (the folder went), or unwritable: RemoveStray tries again later.
        }
    }

    /// <summary>
    /// Deletes the requests in a worker's folder whose job is no longer there (it finished before
    /// the request came, or a `cancel` died between writing and checking).
    /// </summary>
    public static void RemoveStray(QueueHome home, string workerId)
    {
        string[] requests;
        try
        {
            requests = Directory.GetFiles(home.ProcessingFolder(workerId), "*" + Extension);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // no folder: nothing stray
        }
        foreach (var request in requests)
        {
            var jobFile = Path.ChangeExtension(request, ".json");
            if (!File.Exists(jobFile))
            {
                try
                {
                    File.Delete(request);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // RACE: another process removed it first; or the next round does.
                }
            }
        }
    }
}
