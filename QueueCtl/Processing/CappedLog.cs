using System.Text;
using QueueCtl.Config;

namespace QueueCtl.Processing;

/// <summary>
/// One attempt's log file, shared by the stdout and stderr pumps. Past the cap (log-max-size)
/// output is still read from the pipes, so the job never blocks, but only counted; the file
/// ends with a line saying where it was cut and how much was dropped.
/// </summary>
internal sealed class CappedLog(string path, long maxBytes) : IDisposable
{
    private readonly FileStream _file = new(path, FileMode.Create, FileAccess.Write, FileShare.Read, 4096, useAsync: false);
    private long _written;
    private long _dropped;
    private bool _disposed;

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_file)
        {
            if (_disposed)
            {
                return;
            }
            var room = (int)Math.Clamp(maxBytes - _written, 0, data.Length);
            if (room > 0)
            {
                _file.Write(data[..room]);
                _file.Flush();
                _written += room;
            }
            _dropped += data.Length - room;
        }
    }

    /// <summary>A line of queuectl's own, set apart from the job's output.</summary>
    public void Note(string message)
    {
        lock (_file)
        {
            if (!_disposed)
            {
                _file.Write(Encoding.UTF8.GetBytes($"\n[queuectl] {message}\n"));
                _file.Flush();
            }
        }
    }

    public void Dispose()
    {
        lock (_file)
        {
            if (_disposed)
            {
                return;
            }
            if (_dropped > 0)
            {
                _file.Write(Encoding.UTF8.GetBytes(
                    $"\n[queuectl] output cut at {ByteSize.Format(maxBytes)} (log-max-size): {_dropped} more bytes were not kept\n"));
            }
            _disposed = true;
            _file.Dispose();
        }
    }
}
