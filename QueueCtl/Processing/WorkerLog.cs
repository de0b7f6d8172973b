using System.Text;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// A detached worker's own log, workers/&lt;id&gt;.log. The launcher points the worker's stdout at
/// it, but a descriptor opened before a network file system dropped the connection stays broken
/// after the connection is back; this writer reopens the file by name after a failed write, so
/// what a worker does after a reconnect (fenced finishes among it) is still written down.
/// </summary>
internal sealed class WorkerLog(string path) : TextWriter
{
    private FileStream? _stream;
    private WorkerLogRotation? _rotation;

    public override Encoding Encoding => Encoding.UTF8;

    /// <summary>
    /// The reopening logs of a detached process, one per worker, when stdout is the first worker's
    /// log (the launcher points it there); else null. Only the first one's rotation moves the
    /// process's stdout and stderr along.
    /// </summary>
    public static IReadOnlyList<WorkerLog>? ForDetached(QueueHome home, IReadOnlyList<string> workerIds, TimeProvider time)
    {
        var first = WorkerLauncher.LogPath(home, workerIds[0]);
        try
        {
            if (new FileInfo("/proc/self/fd/1").LinkTarget != first)
            {
                return null;
            }
        }
        catch (IOException)
        {
            return null;
        }
        return workerIds.Select((id, i) =>
        {
            var path = WorkerLauncher.LogPath(home, id);
            return new WorkerLog(path) { _rotation = new WorkerLogRotation(home, path, time, ownsStdio: i == 0) };
        }).ToList();
    }

    public override void Write(char value) => Write(value.ToString());

    /// <summary>One write per line, so a line is either in the file or retried whole after a reopen.</summary>
    public override void WriteLine(string? value) => Write(value + NewLine);

    public override void Write(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }
        var bytes = Encoding.GetBytes(value);
        try
        {
            Stream.Write(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Reopen();
            try
            {
                Stream.Write(bytes);
            }
            catch (UnauthorizedAccessException again)
            {
                throw new IOException(again.Message, again); // the caller ignores I/O errors (WorkerLog.WriteLine)
            }
        }
        if (_rotation?.Written(bytes.Length) == true)
        {
            Reopen(); // past worker-log-max-size: the old file is now .log.1
        }
    }

    /// <summary>Nothing to do: the stream is unbuffered, every Write reaches the file (or fails) at once.</summary>
    public override void Flush()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stream?.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>O_APPEND: the worker's guard writes to the same file (RunGuard), and no line may overwrite another.</summary>
    private FileStream Stream => _stream ??= new FileStream(Native.OpenAppend(path), FileAccess.Write, bufferSize: 0);

    private void Reopen()
    {
        try
        {
            _stream?.Dispose();
        }
        catch (IOException)
        {
            // The broken descriptor may fail to flush on close too: it is dropped either way.
        }
        _stream = null;
    }

    /// <summary>Writes a stamped, escaped line to a worker's log; a log that cannot be written (a read-only disk) never stops the worker.</summary>
    public static void WriteLine(TextWriter log, string message, TimeProvider time)
    {
        lock (log)
        {
            try
            {
                log.WriteLine($"{UtcTimestamp.ToText(time.UtcNow())} {LogText.Escape(message)}");
                log.Flush();
            }
            catch (IOException)
            {
                // Nowhere to report it: the job files carry every outcome anyway.
            }
        }
    }
}
