using System.Runtime.InteropServices;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/*
 * The slot protocol of `queue.Q.concurrency N` (ARCHITECTURE.md has the crash table):
 *  - slots/<Q>/<k>/ (k < N) is slot k; it is held while it holds one file, <worker>@<job>, and
 *    free when it is missing or empty. `ls slots/*` shows who runs what.
 *  1. Count: a worker lists slots/<Q>/; with N or more held slots (any k) the queue is full and
 *     its jobs are passed over, like a paused queue's. So a lowered N holds back new claims.
 *  2. Stage: tmp/<w>/.slot/<w>@<job> (a folder holding the holder's file), made in the worker's
 *     own staging.
 *  3. Claim: rename(tmp/<w>/.slot -> slots/<Q>/<k>) for the lowest free k < N. The rename is the
 *     commit: onto a missing or empty folder it succeeds, onto a held (non-empty) one it fails
 *     with ENOTEMPTY/EEXIST, and of two renames onto one free slot exactly one wins.
 *  4. The job's claim follows (Claimer); a lost claim releases the slot at once.
 *  5. Release, after the finish: unlink(slots/<Q>/<k>/<w>@<job>), then rmdir(slots/<Q>/<k>).
 *     Only the holder's own file is ever unlinked, by name, so a release or a recovery that
 *     comes late can never free another holder's slot; an empty folder left by a crash between
 *     the two is a free slot.
 *  Recovery frees the slots of a worker that is judged dead (the same judgement as its jobs) once
 *  its processing folder is gone, that is once its jobs have been taken back and its processes
 *  killed: a slot comes back only when its attempt is gone.
 */

/// <summary>A held slot: the holder's file in slots/&lt;queue&gt;/&lt;k&gt;/.</summary>
internal sealed record HeldSlot(string Queue, int Index, string HolderFile);

/// <summary>Concurrency limits per queue across processes and hosts, from renames of folders alone.</summary>
internal static partial class QueueSlots
{
    private const char Separator = '@';
    private const int ENOENT = 2;
    private const int EEXIST = 17;
    private const int ENOTDIR = 20;
    private const int ENOTEMPTY = 39;
    private const int ESTALE = 116;

    public static string Root(QueueHome home) => Path.Combine(home.Root, "slots");

    public static string QueueFolder(QueueHome home, string queue) => Path.Combine(Root(home), queue);

    /// <summary>The holder file's name: &lt;worker&gt;@&lt;job&gt; (neither can hold an @).</summary>
    public static string HolderName(string workerId, string jobName) => $"{workerId}{Separator}{jobName}";

    /// <summary>The worker of a holder file's name, or null for a name queuectl does not write.</summary>
    public static string? WorkerOf(string holderName)
    {
        var at = holderName.IndexOf(Separator, StringComparison.Ordinal);
        return at > 0 ? holderName[..at] : null;
    }

    /// <summary>The held slots of a queue: index → holder file names (one, unless written by hand).</summary>
    public static Dictionary<int, string[]> Held(QueueHome home, string queue)
    {
        var held = new Dictionary<int, string[]>();
        string[] slots;
        try
        {
            slots = Directory.GetDirectories(QueueFolder(home, queue));
        }
        catch (DirectoryNotFoundException)
        {
            return held; // no slot was ever taken
        }
        foreach (var slot in slots)
        {
            if (!int.TryParse(Path.GetFileName(slot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var k))
            {
                continue;
            }
            try
            {
                var holders = Directory.GetFiles(slot).Select(Path.GetFileName).ToArray();
                if (holders.Length > 0)
                {
                    held[k] = holders!;
                }
            }
            catch (DirectoryNotFoundException)
            {
                // RACE: released since it was listed: free.
            }
            catch (IOException e) when (SharedFile.IsStale(e))
            {
                // RACE: ESTALE (GlusterFS): released and taken again by another client since it was
                // listed; counted as held, so the count errs towards a full queue, never past the limit.
                held[k] = [];
            }
        }
        return held;
    }

    /// <summary>
    /// Takes a free slot of <paramref name="queue"/> for <paramref name="jobName"/>, or null when
    /// <paramref name="limit"/> or more are held (the queue is full).
    /// </summary>
    public static HeldSlot? TryAcquire(QueueHome home, string queue, int limit, string workerId, string jobName)
    {
        var held = Held(home, queue);
        if (held.Count >= limit)
        {
            return null;
        }
        var staged = Path.Combine(home.StagingOf(workerId), ".slot");
        var holder = HolderName(workerId, jobName);
        Stage(staged, holder);
        try
        {
            for (var k = 0; k < limit; k++)
            {
                if (held.ContainsKey(k))
                {
                    continue;
                }
                var slot = Path.Combine(QueueFolder(home, queue), k.ToString(System.Globalization.CultureInfo.InvariantCulture));
                var errno = RenameFolder(staged, slot);
                if (errno == ENOENT && !Directory.Exists(QueueFolder(home, queue)))
                {
                    Directory.CreateDirectory(QueueFolder(home, queue));
                    errno = RenameFolder(staged, slot);
                }
                if (errno == ESTALE && !Directory.Exists(staged))
                {
                    errno = 0; // RACE: ESTALE (GlusterFS) came back from a rename that was made: our folder is the slot
                }
                if (errno == 0)
                {
                    return new HeldSlot(queue, k, Path.Combine(slot, holder));
                }
                if (errno is not (ENOTEMPTY or EEXIST or ENOTDIR or ESTALE))
                {
                    throw new IOException($"Could not take slot {k} of queue {queue} ({Marshal.GetPInvokeErrorMessage(errno)}).");
                }
                // RACE: ENOTEMPTY/EEXIST: another worker took slot k since we counted; ESTALE (GlusterFS,
                // our folder still staged): slot k was replaced under a cached handle: try the next one.
            }
            return null;
        }
        finally
        {
            try
            {
                Directory.Delete(staged, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
                // Renamed into place: nothing is left to remove.
            }
        }
    }

    /// <summary>Frees a slot this worker holds: its own holder file, then the folder if empty.</summary>
    public static void Release(HeldSlot slot)
    {
        try
        {
            File.Delete(slot.HolderFile); // no error when it is gone: recovery freed it (our lease ran out)
        }
        catch (DirectoryNotFoundException)
        {
            // RACE: the slot folder was removed by recovery meanwhile.
        }
        RemoveIfEmpty(Path.GetDirectoryName(slot.HolderFile)!);
    }

    /// <summary>
    /// Frees every slot whose holder <paramref name="isGone"/> says is dead and holds no job any
    /// more; returns "queue/k (worker)" for each, for the log.
    /// </summary>
    public static List<string> ReleaseDead(QueueHome home, Func<string, bool> isGone)
    {
        var freed = new List<string>();
        string[] queues;
        try
        {
            queues = Directory.GetDirectories(Root(home));
        }
        catch (DirectoryNotFoundException)
        {
            return freed;
        }
        foreach (var queueFolder in queues)
        {
            var queue = Path.GetFileName(queueFolder);
            foreach (var (k, holders) in Held(home, queue))
            {
                foreach (var holder in holders)
                {
                    if (WorkerOf(holder) is not { } worker || !isGone(worker))
                    {
                        continue;
                    }
                    var slot = Path.Combine(queueFolder, k.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    try
                    {
                        File.Delete(Path.Combine(slot, holder)); // RACE: another recoverer first: no error
                    }
                    catch (DirectoryNotFoundException)
                    {
                        continue; // RACE: freed by another recoverer meanwhile
                    }
                    RemoveIfEmpty(slot);
                    freed.Add($"{queue}/{k} ({worker})");
                }
            }
        }
        return freed;
    }

    private static void Stage(string staged, string holder)
    {
        if (Directory.Exists(staged))
        {
            Directory.Delete(staged, recursive: true); // left by an interrupted acquire
        }
        Directory.CreateDirectory(staged);
        File.WriteAllBytes(Path.Combine(staged, holder), []);
    }

    private static void RemoveIfEmpty(string slot)
    {
        if (Rmdir(slot) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is not (ENOENT or ENOTEMPTY or EEXIST or ESTALE))
            {
                throw new IOException($"Could not remove {slot} ({Marshal.GetPInvokeErrorMessage(errno)}).");
            }
            // RACE: ENOTEMPTY: another worker took the slot again at once; ENOENT: removed already.
        }
    }

    /// <summary>rename(2) of a folder; 0 or the errno. Onto an empty folder it replaces it, onto a non-empty one it fails.</summary>
    private static int RenameFolder(string source, string destination) => Renames.RenameFolder(source, destination);

    [LibraryImport("libc", EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Rmdir(string path);
}
