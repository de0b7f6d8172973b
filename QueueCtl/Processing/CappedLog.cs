using System.Text;
using QueueCtl.Config;

namespace QueueCtl.Processing;

/// <summary>
/// One attempt's log file, for the job's stdout and stderr together. The file (and its folder) is
/// made at the first byte: an attempt that prints nothing leaves no file, which saves two file
/// creations per job (ARCHITECTURE.md, "Performance choices"). Past the cap (log-max-size)
/// output is still read from the pipes, so the job never blocks, but only counted; the file
/// ends with a line saying where it was cut and how much was dropped.
/// </summary>
internal sealed class CappedLog(string path, long maxBytes) : IDisposable
{
    private readonly object _lock = new();
    private FileStream? _stream;
    private long _written;
    private long _dropped;
    private bool _disposed;
    private bool _broken;
    private long _lost;
    private string? _lostBecause;

    /// <summary>How much output could not be written and why, or null when none was lost.</summary>
    public string? Lost
    {
        get
        {
            lock (_lock)
            {
                return _lostBecause is null ? null : $"{_lost} bytes of output could not be written to the log: {_lostBecause}";
            }
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            var room = (int)Math.Clamp(maxBytes - _written, 0, data.Length);
            _dropped += data.Length - room;
            if (room > 0)
            {
                if (TryWrite(data[..room]))
                {
                    _written += room;
                }
                else
                {
                    _lost += room;
                }
            }
        }
    }

    /// <summary>A line of queuectl's own, set apart from the job's output.</summary>
    public void Note(string message)
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                TryWrite(Encoding.UTF8.GetBytes($"\n[queuectl] {message}\n"));
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            if (_dropped > 0 && !_broken)
            {
                TryWrite(Encoding.UTF8.GetBytes(
                    $"\n[queuectl] output cut at {ByteSize.Format(maxBytes)} (log-max-size): {_dropped} more bytes were not kept\n"));
            }
            _disposed = true;
            try
            {
                _stream?.Dispose();
            }
            catch (IOException)
            {
                // Nothing more can be kept; the attempt's result does not depend on its log.
            }
        }
    }

    /// <summary>
    /// Writes and flushes; false once the log cannot be written (a full or read-only disk): the
    /// job keeps running and its pipes keep being drained, its output is lost, not the attempt.
    /// </summary>
    private bool TryWrite(ReadOnlySpan<byte> data)
    {
        if (_broken)
        {
            return false;
        }
        try
        {
            Output.Write(data);
            Output.Flush();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _broken = true;
            _lostBecause = e.Message;
            return false;
        }
    }

    private FileStream Output
    {
        get
        {
            if (_stream is null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                // 0600 like the job files: a job's output may print what its env holds.
                _stream = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.Create,
                    Access = FileAccess.Write,
                    Share = FileShare.Read,
                    BufferSize = 4096,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
            }
            return _stream;
        }
    }
}
