using System.Runtime.InteropServices;

namespace QueueCtl.Cli;

/// <summary>
/// Standard input, output or error as a plain stream over its file descriptor. System.Console's
/// writers set up the terminal and start a signal-handling thread on their first write, a sixth of
/// a short command's start-up; a CLI that prints lines needs none of it. Like Console's stream, a
/// write to a closed pipe (`queuectl list | head -1`) is dropped silently rather than an error.
/// </summary>
internal sealed partial class StandardStream(int fd) : Stream
{
    private const int EINTR = 4;
    private const int EAGAIN = 11;
    private const int EPIPE = 32;

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint WriteSyscall(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadSyscall(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(int* fds, nint count, int timeout);

    /// <summary>A writer for fd 1 or 2: UTF-8 without a byte order mark, flushed at every write, safe from several threads.</summary>
    public static TextWriter Writer(int fd) =>
        TextWriter.Synchronized(new StreamWriter(new StandardStream(fd), new System.Text.UTF8Encoding(false), 4096) { AutoFlush = true });

    public override bool CanRead => fd == 0;
    public override bool CanWrite => fd != 0;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override unsafe void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            var done = 0;
            while (done < buffer.Length)
            {
                var written = WriteSyscall(fd, start + done, buffer.Length - done);
                if (written >= 0)
                {
                    done += (int)written;
                    continue;
                }
                var errno = Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    case EINTR:
                        continue;
                    case EAGAIN: // a non-blocking descriptor handed to us: wait until it takes more
                        WaitWritable();
                        continue;
                    case EPIPE: // the reader went away: nobody is left to read the rest
                        return;
                    default:
                        throw new IOException($"write to standard {(fd == 1 ? "output" : "error")}: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override unsafe int Read(Span<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            while (true)
            {
                var read = ReadSyscall(fd, start, buffer.Length);
                if (read >= 0)
                {
                    return (int)read;
                }
                var errno = Marshal.GetLastPInvokeError();
                if (errno != EINTR)
                {
                    throw new IOException($"read standard input: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
            }
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private unsafe void WaitWritable()
    {
        // struct pollfd { int fd; short events; short revents; }, POLLOUT = 4
        var pollFd = stackalloc int[2];
        pollFd[0] = fd;
        pollFd[1] = 4;
        Poll(pollFd, 1, -1);
    }
}
