using System.Collections.Concurrent;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>
/// Every job-file write: bytes into a new file under tmp/, fsync, one rename into place, then
/// (unless a later rename's folder fsync commits the same journal, or losing the rename is
/// harmless) fsync of the destination folder. `cat` never sees half a file; a crash leaves at most
/// a stray file in tmp/ (never read as a job). Only the worker heartbeat record skips the fsyncs.
/// </summary>
internal static class AtomicFile
{
    /// <summary>
    /// Mode 0600 (the umask can only take bits away): a job's "env" may hold secrets (enqueue
    /// --env, --env-all), and the rename keeps the mode, so no job file is readable by others,
    /// even in a home whose mode was widened.
    /// </summary>
    public static FileStreamOptions NewPrivateFile => new()
    {
        Mode = FileMode.CreateNew,
        Access = FileAccess.Write,
        Share = FileShare.None,
        UnixCreateMode = PrivateMode,
    };

    /// <summary>0600: a job file's mode, for new staged files and spares alike.</summary>
    private const UnixFileMode PrivateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Writes <paramref name="destination"/> atomically. With <paramref name="noReplace"/> an
    /// existing file is left alone and false is returned.
    /// </summary>
    /// <remarks>
    /// <paramref name="modified"/> sets the file's mtime before it appears (see JobStore.Enqueue).
    /// <paramref name="durable"/> false skips both fsyncs: for files that are rewritten every few
    /// seconds and worth nothing after a power cut (worker heartbeats). Still atomic.
    /// </remarks>
    public static bool Write(QueueHome home, string destination, ReadOnlySpan<byte> bytes, bool noReplace, bool durable = true, DateTime? modified = null)
    {
        var staged = StageInTmp(home, Path.GetFileName(destination), bytes, durable);
        if (modified is { } mtime)
        {
            File.SetLastWriteTimeUtc(staged, mtime);
        }
        var result = Renames.Move(staged, destination, noReplace);
        if (result != MoveResult.Moved)
        {
            File.Delete(staged);
            if (result == MoveResult.SourceMissing)
            {
                throw new IOException($"The folder of '{destination}' is missing.");
            }
            return false;
        }
        if (durable)
        {
            Native.FsyncDirectory(Path.GetDirectoryName(destination)!);
        }
        return true;
    }

    /// <summary>
    /// Rewrites <paramref name="path"/> atomically, but only while it still exists: when another
    /// process has moved it away (a recovered job), nothing is created and false is returned.
    /// </summary>
    /// <remarks>
    /// <paramref name="flushFolder"/> false skips the fsync of the folder: right for a rewrite
    /// that is followed by a rename whose own folder fsync commits the same journal.
    /// The staged copy is always fsync'd before the exchange: otherwise a power cut could keep the
    /// exchange but not the data, leaving an empty file under the job's name (recovery would reject
    /// it as corrupt). Atomic in every case.
    /// </remarks>
    public static bool Replace(QueueHome home, string path, ReadOnlySpan<byte> bytes, bool flushFolder = true)
    {
        var staged = StageInTmp(home, Path.GetFileName(path), bytes);
        var exchanged = Renames.Exchange(staged, path);
        if (exchanged is null)
        {
            // No RENAME_EXCHANGE here (GlusterFS): check, then rename over, a short window
            // (docs/decisions.md, "Several hosts", item "Fencing").
            if (!File.Exists(path) || Renames.Move(staged, path, noReplace: false) != MoveResult.Moved)
            {
                File.Delete(staged);
                return false;
            }
        }
        else if (exchanged == MoveResult.SourceMissing)
        {
            File.Delete(staged);
            return false;
        }
        else
        {
            Recycle(home, staged); // now holds the old content
        }
        if (flushFolder)
        {
            Native.FsyncDirectory(Path.GetDirectoryName(path)!);
        }
        return true;
    }

    /// <summary>
    /// Spare staged files of each worker's staging folder. After an exchange the staged name holds
    /// the replaced content: an inode that the next staged copy can be written into instead of a
    /// new file, so a worker's two rewrites per job neither create nor delete a file. On ext4 a
    /// file creation scans past every inode deleted in the last minute or so (`recently_deleted`),
    /// which at hundreds of jobs a second was the largest single cost of a job. Only a worker's
    /// own tmp/&lt;id&gt;/ keeps spares (it is removed with its worker); a command's staging
    /// folder is tmp/ itself, where a spare would outlive the process.
    /// </summary>
    private static readonly ConcurrentDictionary<string, ConcurrentBag<string>> Spares = new(StringComparer.Ordinal);

    /// <summary>At most this many spares per staging folder (one per loop of a worker is enough).</summary>
    private const int SparesPerFolder = 16;

    /// <summary>Writes a flushed copy under tmp/ (or the worker's tmp/&lt;id&gt;/) with a unique hidden name and returns its path.</summary>
    public static string StageInTmp(QueueHome home, string name, ReadOnlySpan<byte> bytes, bool durable = true)
    {
        if (Reuse(home, bytes, durable) is { } reused)
        {
            return reused;
        }
        var staged = Path.Combine(home.Staging, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        FileStream stream;
        try
        {
            stream = new FileStream(staged, NewPrivateFile);
        }
        catch (DirectoryNotFoundException) when (home.Staging != home.Tmp && Directory.Exists(home.Tmp))
        {
            // A worker's staging folder is made at its start; recovery removes it when it judges the
            // worker dead (a lease that ran out while the worker was cut off): make it again.
            Directory.CreateDirectory(home.Staging);
            stream = new FileStream(staged, NewPrivateFile);
        }
        using (stream)
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: durable);
        }
        return staged;
    }

    /// <summary>A spare of the worker's staging folder holding <paramref name="bytes"/>, or null when there is none to use.</summary>
    private static string? Reuse(QueueHome home, ReadOnlySpan<byte> bytes, bool durable)
    {
        if (home.Staging == home.Tmp || !Spares.TryGetValue(home.Staging, out var spares))
        {
            return null;
        }
        while (spares.TryTake(out var spare))
        {
            Microsoft.Win32.SafeHandles.SafeFileHandle handle;
            try
            {
                handle = File.OpenHandle(spare, FileMode.Open, FileAccess.Write);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // RACE: recovery removed the staging folder of a worker it judged dead
            }
            using (handle)
            {
                // The replaced content may have been a file dropped by another user, or linked
                // elsewhere: only a file of ours with one link is written into, made private first
                // (a job file is 0600, see NewPrivateFile; a dropped one may have had 0644).
                var mode = Native.OwnSingleLinkMode(handle);
                if (mode is null)
                {
                    handle.Dispose();
                    File.Delete(spare);
                    continue;
                }
                if (mode != (uint)PrivateMode)
                {
                    File.SetUnixFileMode(handle, PrivateMode);
                }
                RandomAccess.Write(handle, bytes, 0);
                RandomAccess.SetLength(handle, bytes.Length);
                if (durable)
                {
                    RandomAccess.FlushToDisk(handle);
                }
            }
            return spare;
        }
        return null;
    }

    /// <summary>Keeps a replaced content's file as a spare of a worker's staging folder, or deletes it.</summary>
    private static void Recycle(QueueHome home, string staged)
    {
        if (home.Staging != home.Tmp)
        {
            var spares = Spares.GetOrAdd(home.Staging, static _ => []);
            if (spares.Count < SparesPerFolder)
            {
                spares.Add(staged);
                return;
            }
        }
        File.Delete(staged);
    }
}
