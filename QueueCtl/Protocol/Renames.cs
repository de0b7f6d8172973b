using System.Runtime.InteropServices;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

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
/// The only bindings of rename(2), renameat2(2) and link(2) in queuectl. Callers go through
/// <see cref="JobMoves"/> (a job file's move, with its replace and fsync choice) or
/// <see cref="AtomicFile"/> (a whole-file write or fenced rewrite).
/// File.Move(overwrite: false) is lstat + rename, which is not atomic (docs/decisions.md, "Why not
/// `File.Move`").
/// </summary>
internal static partial class Renames
{
    private const uint RenameNoReplace = 1;
    private const uint RenameExchange = 2;
    private const int ENOENT = Native.ENOENT;
    private const int EEXIST = 17;
    private const int EINVAL = 22;
    private const int ENOSYS = 38;
    private const int ESTALE = Native.ESTALE;
    private const int AtFdCwd = Native.AtFdCwd;

    private static bool _noReplaceUnsupported;
    private static bool _exchangeUnsupported;

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenamePlain(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Unlink(string path);

    /// <summary>
    /// rename(2) of a folder (the concurrency slots, QueueSlots): 0 or the errno. Onto a missing or
    /// empty folder it replaces it; onto a non-empty one it fails (ENOTEMPTY or EEXIST).
    /// </summary>
    public static int RenameFolder(string source, string destination) =>
        RenamePlain(source, destination) == 0 ? 0 : Marshal.GetLastPInvokeError();

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
                throw Native.Error(errno, $"unlink '{source}'");
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

    private static MoveResult Check(int result, string source, string destination) =>
        result == 0 ? MoveResult.Moved : Classify(Marshal.GetLastPInvokeError(), source, destination);

    private static MoveResult Classify(int errno, string source, string destination) => errno switch
    {
        // ESTALE: a network file system's handle to a file another host just moved: gone, for us.
        ENOENT or ESTALE => MoveResult.SourceMissing,
        EEXIST => MoveResult.DestinationExists,
        _ => throw Native.Error(errno, $"rename '{source}' to '{destination}'"),
    };
}
