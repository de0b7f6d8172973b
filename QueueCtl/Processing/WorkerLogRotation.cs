using System.Runtime.InteropServices;
using QueueCtl.Protocol;
using QueueCtl.Config;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// The size cap of workers/&lt;id&gt;.log (`worker-log-max-size`, default 10 MiB): past it the file
/// is renamed to workers/&lt;id&gt;.log.1 (replacing the previous one) and begun again, so a worker
/// holds at most twice the cap on disk. The process's stdout and stderr, which the launcher
/// pointed at the old file, are pointed at the new one (dup2), so a stray write from the runtime
/// lands in the current log too (for the first worker of a process only, <paramref name="ownsStdio"/>:
/// they point at its log). The cap is read from config.json at most once a minute.
/// </summary>
internal sealed partial class WorkerLogRotation(QueueHome home, string path, TimeProvider time, bool ownsStdio = true)
{
    private long _cap = -1;
    private DateTime _capReadAt;
    private long _size = -1;

    /// <summary>Counts <paramref name="bytes"/> written; true when the file is past the cap and was rotated (the caller reopens it).</summary>
    public bool Written(int bytes)
    {
        var now = time.UtcNow();
        if (_cap < 0 || now - _capReadAt > Timing.LogCapReadEvery)
        {
            _cap = ConfigStore.Load(home).WorkerLogMaxBytes;
            _capReadAt = now;
        }
        if (_size < 0)
        {
            _size = new FileInfo(path) is { Exists: true } file ? file.Length : 0;
        }
        else
        {
            _size += bytes;
        }
        if (_size <= _cap)
        {
            return false;
        }
        try
        {
            Retirement.Rotate(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _size = -1; // measured again at the next write
            return false;
        }
        _size = 0;
        if (!ownsStdio)
        {
            return true;
        }
        using (var fresh = Native.OpenAppend(path))
        {
            var fd = (int)fresh.DangerousGetHandle();
            Dup2(fd, 1);
            Dup2(fd, 2);
        }
        return true;
    }

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int oldFd, int newFd);
}
