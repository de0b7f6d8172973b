using System.Runtime.InteropServices;

namespace QueueCtl.Storage;

/// <summary>
/// The few POSIX calls .NET does not expose: fsync of a directory, kill, statx, open with O_APPEND
/// or O_NONBLOCK. The renames (rename, renameat2, link) are Protocol/Renames.cs: nothing else moves files.
/// </summary>
internal static partial class Native
{
    internal const int AtFdCwd = -100;
    private const int ESRCH = 3;
    internal const int ENOENT = 2;
    private const int EPERM = 1;
    private const int EACCES = 13;
    private const int ENOTDIR = 20;
    /// <summary>A network file system's handle to a file that was moved or replaced meanwhile.</summary>
    internal const int ESTALE = 116;
    private const int OReadOnly = 0;
    private const int ODirectory = 0x10000; // O_DIRECTORY on x86-64 and arm64 Linux
    private const int OCloExec = 0x80000;
    private const int OWriteOnly = 1;
    private const int OCreate = 0x40;
    private const int OAppend = 0x400;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillSyscall(int pid, int signal);

    /// <summary>open(2); <paramref name="mode"/> matters only with O_CREAT.</summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode = 0);

    [LibraryImport("libc", EntryPoint = "utimensat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int UtimensAt(int directoryFd, string path, IntPtr times, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxSyscall(int dirFd, string path, int flags, uint mask, Span<byte> buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUid();

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    /// <summary>kill(2); a negative pid signals a process group. False when no such process.</summary>
    public static bool Signal(int pid, int signal)
    {
        if (KillSyscall(pid, signal) == 0)
        {
            return true;
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno == ESRCH ? false : throw Error(errno, $"signal process {pid}");
    }

    /// <summary>
    /// True when a live process with this pid exists on this host (it may be another program after
    /// pid reuse). A zombie counts as gone: a killed detached worker whose parent does not reap it
    /// stays a zombie, and kill(pid, 0) still succeeds for it.
    /// </summary>
    public static bool ProcessExists(int pid)
    {
        if (pid <= 0 || (KillSyscall(pid, 0) != 0 && Marshal.GetLastPInvokeError() == ESRCH))
        {
            return false;
        }
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat.LastIndexOf(')') + 2;
            return state >= stat.Length || stat[state] is not ('Z' or 'X');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return !Directory.Exists("/proc/self") || Directory.Exists($"/proc/{pid}");
        }
    }

    /// <summary>
    /// Opens a file for appending with O_APPEND, which .NET's FileMode.Append does not set (it seeks
    /// once): every write then lands at the end, also when other processes append to the same file
    /// (a worker and its guard share the worker's log).
    /// </summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle OpenAppend(string path)
    {
        var fd = Open(path, OWriteOnly | OCreate | OAppend | OCloExec, 0x1b6); // 0666, less the umask
        if (fd < 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), $"open '{path}'");
        }
        return new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>utimensat(path, NULL): the file's times become the file system's now. False when it fails.</summary>
    public static bool TouchNow(string path) => UtimensAt(AtFdCwd, path, IntPtr.Zero, 0) == 0;

    /// <summary>The effective user id of this process.</summary>
    public static uint EffectiveUid => GetEffectiveUid();

    /// <summary>
    /// statx(2) of a path (following symlinks), or of an open descriptor with <paramref name="fd"/>:
    /// its mode (file type and permission bits) and owner. Null when the path does not exist.
    /// struct statx has the same layout on every architecture: stx_uid at byte 20, stx_mode at 28.
    /// </summary>
    public static (uint Mode, uint Uid)? Stat(string path, int fd = AtFdCwd)
    {
        Span<byte> buffer = stackalloc byte[256];
        const uint basicStats = 0x7ff;
        const int atEmptyPath = 0x1000;
        if (StatxSyscall(fd, path, fd == AtFdCwd ? 0 : atEmptyPath, basicStats, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is ENOENT or ENOTDIR ? null : throw Error(errno, $"stat '{path}'");
        }
        return (System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(buffer[20..]));
    }

    /// <summary>
    /// Whether an open file is a regular file of this process's user with a single link: one that
    /// can be overwritten in place without changing what anyone else sees, and whose mode this
    /// process may set (stx_nlink is at byte 16 of struct statx). Its permission bits, or null.
    /// </summary>
    public static uint? OwnSingleLinkMode(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        Span<byte> buffer = stackalloc byte[256];
        const uint basicStats = 0x7ff;
        const int atEmptyPath = 0x1000;
        if (StatxSyscall((int)handle.DangerousGetHandle(), "", atEmptyPath, basicStats, buffer) != 0)
        {
            return null;
        }
        var mode = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(buffer[16..]) == 1
            && System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(buffer[20..]) == EffectiveUid
            && (mode & 0xF000) == 0x8000
            ? (uint)(mode & 0xFFF)
            : null;
    }

    /// <summary>A path's modification time in nanoseconds since the epoch (symlinks followed), or null when it does not exist. stx_mtime is at byte 112 of struct statx.</summary>
    public static long? ModifiedNanoseconds(string path)
    {
        Span<byte> buffer = stackalloc byte[256];
        const uint mtimeMask = 0x40; // STATX_MTIME
        if (StatxSyscall(AtFdCwd, path, 0, mtimeMask, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is ENOENT or ENOTDIR ? null : throw Error(errno, $"stat '{path}'");
        }
        return System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(buffer[112..]) * 1_000_000_000
            + System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(buffer[120..]);
    }

    /// <summary>
    /// Opens a file for reading without blocking: open(2) of a FIFO waits for a writer, forever if
    /// none comes, so O_NONBLOCK (which changes nothing for a regular file's reads). The caller
    /// checks the type of what it opened with <see cref="Stat"/> on the descriptor.
    /// </summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle OpenForReading(string path)
    {
        const int oNonBlock = 0x800; // O_NONBLOCK on x86-64 and arm64 Linux
        var fd = Open(path, OReadOnly | oNonBlock | OCloExec);
        if (fd >= 0)
        {
            return new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        }
        var errno = Marshal.GetLastPInvokeError();
        throw errno switch
        {
            ENOENT => new FileNotFoundException($"Could not find file '{path}'.", path),
            ENOTDIR => new DirectoryNotFoundException($"Could not find a part of the path '{path}'."),
            EACCES or EPERM => new UnauthorizedAccessException($"Access to the path '{path}' is denied."),
            _ => Error(errno, $"open '{path}'"),
        };
    }

    /// <summary>Flushes a directory's entries, so that a rename into it survives a power cut.</summary>
    public static void FsyncDirectory(string directory)
    {
        var fd = Open(directory, OReadOnly | ODirectory | OCloExec);
        if (fd < 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), $"open directory '{directory}'");
        }
        try
        {
            if (Fsync(fd) != 0)
            {
                throw Error(Marshal.GetLastPInvokeError(), $"fsync directory '{directory}'");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    internal static IOException Error(int errno, string what) =>
        new($"Could not {what}: {Marshal.GetPInvokeErrorMessage(errno)}.") { HResult = errno };
}
