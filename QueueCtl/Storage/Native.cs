using System.Runtime.InteropServices;

namespace QueueCtl.Storage;

/// <summary>What a rename did. Losing a race is a normal outcome, not an exception.</summary>
internal enum MoveResult
{
    Moved,
    /// <summary>ENOENT: the source is gone (another process moved it first).</summary>
    SourceMissing,
    /// <summary>EEXIST: the destination name is taken (only with noReplace).</summary>
    DestinationExists,
}

/// <summary>
/// The few POSIX calls .NET does not expose: rename without replace, and fsync of a directory.
/// File.Move(overwrite: false) is lstat + rename, which is not atomic (see ARCHITECTURE.md).
/// </summary>
internal static partial class Native
{
    private const int AtFdCwd = -100;
    private const uint RenameNoReplace = 1;
    private const uint RenameExchange = 2;
    private const int ESRCH = 3;
    private const int ENOENT = 2;
    private const int EEXIST = 17;
    private const int EINVAL = 22;
    private const int EPERM = 1;
    private const int EACCES = 13;
    private const int ENOTDIR = 20;
    private const int ENOSYS = 38;
    /// <summary>A network file system's handle to a file that was moved or replaced meanwhile.</summary>
    internal const int ESTALE = 116;
    private const int OReadOnly = 0;
    private const int ODirectory = 0x10000; // O_DIRECTORY on x86-64 and arm64 Linux
    private const int OCloExec = 0x80000;
    private const int OWriteOnly = 1;
    private const int OCreate = 0x40;
    private const int OAppend = 0x400;

    private static bool _noReplaceUnsupported;
    private static bool _exchangeUnsupported;

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillSyscall(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenamePlain(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Unlink(string path);

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

    /// <summary>
    /// rename(2) of <paramref name="source"/> to <paramref name="destination"/>. With
    /// <paramref name="noReplace"/> an existing destination is never overwritten
    /// (renameat2 RENAME_NOREPLACE, or link + unlink where the file system lacks it).
    /// </summary>
    public static MoveResult Move(string source, string destination, bool noReplace)
    {
        if (!noReplace)
        {
            return Check(RenamePlain(source, destination), source, destination);
        }
        if (!Volatile.Read(ref _noReplaceUnsupported))
        {
            if (RenameAt2(AtFdCwd, source, AtFdCwd, destination, RenameNoReplace) == 0)
            {
                return MoveResult.Moved;
            }
            var errno = Marshal.GetLastPInvokeError();
            if (errno is not (EINVAL or ENOSYS))
            {
                return Classify(errno, source, destination);
            }
            Volatile.Write(ref _noReplaceUnsupported, true);
        }

        // link(2) fails with EEXIST rather than replace, so link + unlink never overwrites. It is not
        // a claim (link leaves the source in place): whoever then fails to unlink the source lost a
        // race to another mover and takes its own link back.
        var linked = Check(Link(source, destination), source, destination);
        if (linked == MoveResult.Moved && Unlink(source) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is not (ENOENT or ESTALE))
            {
                throw Error(errno, $"unlink '{source}'");
            }
            // RACE: another process moved the source meanwhile (to another name): undo ours.
            _ = Unlink(destination);
            return MoveResult.SourceMissing;
        }
        return linked;
    }

    /// <summary>
    /// Atomically swaps two existing names (renameat2 RENAME_EXCHANGE). Returns SourceMissing when
    /// either is gone: used to replace a file only if it still exists (a fenced rewrite).
    /// Returns null where the file system cannot exchange.
    /// </summary>
    public static MoveResult? Exchange(string first, string second)
    {
        if (Volatile.Read(ref _exchangeUnsupported))
        {
            return null;
        }
        if (RenameAt2(AtFdCwd, first, AtFdCwd, second, RenameExchange) == 0)
        {
            return MoveResult.Moved;
        }
        var errno = Marshal.GetLastPInvokeError();
        if (errno is EINVAL or ENOSYS)
        {
            Volatile.Write(ref _exchangeUnsupported, true);
            return null;
        }
        return Classify(errno, first, second);
    }

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

    private static MoveResult Check(int result, string source, string destination) =>
        result == 0 ? MoveResult.Moved : Classify(Marshal.GetLastPInvokeError(), source, destination);

    private static MoveResult Classify(int errno, string source, string destination) => errno switch
    {
        // ESTALE: a network file system's handle to a file another host just moved: gone, for us.
        ENOENT or ESTALE => MoveResult.SourceMissing,
        EEXIST => MoveResult.DestinationExists,
        _ => throw Error(errno, $"rename '{source}' to '{destination}'"),
    };

    private static IOException Error(int errno, string what) =>
        new($"Could not {what}: {Marshal.GetPInvokeErrorMessage(errno)}.") { HResult = errno };
}
