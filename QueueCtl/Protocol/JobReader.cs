using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>
/// Reads job files as a worker would: the one place that knows how a file is read from each
/// folder (from pending/, where anyone may drop anything, at most JobLimits.MaxFileBytes and never
/// blocking on a FIFO; everywhere, tried again on ESTALE) and what a dropped file's defaults are.
/// Claims, listings, the worker's index and recovery all read through it.
/// </summary>
internal static class JobReader
{
    /// <summary>
    /// The bytes of a job file in <paramref name="state"/>'s folder. Throws a Failure for a file in
    /// pending/ over the size limit, NotRegularFileException for a FIFO or device, and
    /// FileNotFoundException once it has moved (also after ESTALE, see SharedFile).
    /// </summary>
    public static byte[] ReadBytes(string path, string state) =>
        state == JobState.Pending ? SharedFile.Read(path, PendingFile.Read) : SharedFile.ReadAllBytes(path);

    /// <summary>
    /// A file as dropped into pending/ (only `command` required), validated and given the defaults a
    /// claim gives it: the id from its name when it names none, created_at from
    /// <paramref name="modified"/> (its mtime), max_retries from <paramref name="maxRetries"/>, and
    /// no cwd: it runs in the home of whichever worker runs it, which on a shared file system may
    /// be mounted at a different path on each host. Throws a Failure when it is not a valid job.
    /// </summary>
    public static Job ParseDropped(byte[] bytes, string path, DateTime modified, int maxRetries = 0) =>
        JobParser.Parse(bytes, new JobDefaults(maxRetries, null, modified), Path.GetFileNameWithoutExtension(path));

    /// <summary>
    /// A job file's bytes as the folder it was read from says: from pending/ a dropped file
    /// (<see cref="ParseDropped"/>), from anywhere else a file queuectl wrote, read as written.
    /// Throws a Failure when it is not a valid job or is corrupt.
    /// </summary>
    public static Job Parse(byte[] bytes, string path, string state, DateTime modified, int maxRetries = 0)
    {
        if (state == JobState.Pending)
        {
            return ParseDropped(bytes, path, modified, maxRetries);
        }
        try
        {
            return JobJson.Deserialize(bytes);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw Failure.Usage($"The job file is corrupt: {e.Message}");
        }
    }
}
