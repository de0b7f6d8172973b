using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// Judges which workers are dead (the registry's liveness), takes each dead worker's files aside
/// (<see cref="Recovery.TakeFolder"/>), kills what is left of their runs on this host, then moves
/// the files on (<see cref="Recovery.RecoverTaken"/>). Safe to run from several processes at
/// once: every move is a rename that only one can win.
/// </summary>
internal static class WorkerRecovery
{
    /// <param name="siblings">The other workers of the caller's process: alive while the caller runs, never judged.</param>
    public static List<RecoveredJob> RecoverDeadWorkers(QueueHome home, Settings settings, string? selfId, TimeProvider time, IReadOnlyCollection<string>? siblings = null)
    {
        var now = time.UtcNow();
        var registry = new WorkerRegistry(home);
        var recovered = new List<RecoveredJob>();
        var live = new HashSet<string>(StringComparer.Ordinal);
        var dead = new Dictionary<string, string>(StringComparer.Ordinal);
        var liveness = registry.Judge(settings, now);
        foreach (var record in registry.ReadAll())
        {
            var reason = record.Id == selfId || siblings?.Contains(record.Id) == true ? null : liveness.DeathReason(record);
            if (reason is null)
            {
                live.Add(record.Id);
            }
            else
            {
                dead[record.Id] = reason;
            }
        }

        var processing = home.StateFolder(JobState.Processing);
        var folders = Directory.Exists(processing) ? Directory.GetDirectories(processing) : [];
        // A recoverer first takes each file into a folder of its own, with the same single rename
        // as a claim: of several recoverers (every worker runs recovery) exactly one gets it, also
        // where the file system has no RENAME_EXCHANGE to fence the rewrite (GlusterFS).
        var taker = selfId ?? $"recover-{WorkerId.Host}-{Environment.ProcessId}";
        var diedMidWork = false;
        foreach (var folder in folders)
        {
            var workerId = Path.GetFileName(folder);
            if (workerId == selfId || siblings?.Contains(workerId) == true || live.Contains(workerId) || File.Exists(registry.PathOf(workerId)) && !dead.ContainsKey(workerId))
            {
                continue; // alive, or registered between our listing and now
            }
            var reason = dead.GetValueOrDefault(workerId) ?? $"worker {workerId} died (not registered)";
            // Never twice at once: the files are taken aside first (the worker's own finish is
            // fenced from then on: it finds its file gone), then what is left on this host of the
            // dead (or frozen) worker's runs dies, and only then can its jobs run again. Its guard
            // normally killed them already; on another host the worker's own fence did
            // (ARCHITECTURE.md, "Liveness and fencing").
            Directory.CreateDirectory(home.ProcessingFolder(taker));
            var taken = Recovery.TakeFolder(home, workerId, taker);
            if (!JobProcesses.KillAll(workerId, null, Timing.RecoveryKillWait, time))
            {
                Recovery.PutBack(home, taken, workerId);
                continue; // a process that does not die (uninterruptible sleep): its jobs wait for the next round
            }
            recovered.AddRange(Recovery.RecoverTaken(home, taken, workerId, reason, settings, now));
            diedMidWork = true;
            try
            {
                Directory.Delete(folder);
            }
            catch (IOException)
            {
                // RACE: not empty (a file arrived or could not be moved) or already gone: next round.
            }
            RemoveStaging(home, workerId);
        }
        if (selfId is null)
        {
            try
            {
                Directory.Delete(home.ProcessingFolder(taker));
            }
            catch (IOException)
            {
                // Never made (nothing to recover), or a file could not be moved on: the next recovery finishes it.
            }
        }
        // Concurrency slots (QueueSlots) of holders judged dead come back once their jobs have: a
        // holder that is not registered any more is dead too (a worker registers before it takes a
        // slot and releases every slot before it deregisters).
        QueueSlots.ReleaseDead(home, holder => holder != selfId && siblings?.Contains(holder) != true && !live.Contains(holder)
            && (dead.ContainsKey(holder) || !File.Exists(registry.PathOf(holder)))
            && !Directory.Exists(home.ProcessingFolder(holder)));
        if (diedMidWork)
        {
            // It may have died between a move into completed/ or dead/ and its ledger line: the
            // finished index is rebuilt from the folders by the next reader or upkeep.
            new FinishedIndex(home).Invalidate();
        }
        foreach (var workerId in dead.Keys)
        {
            if (!Directory.Exists(home.ProcessingFolder(workerId)))
            {
                registry.Remove(workerId);
                RemoveStaging(home, workerId);
            }
        }
        return recovered;
    }

    /// <summary>
    /// Deletes a worker's staging folder tmp/&lt;workerId&gt;/ and what a crash left in it: staged
    /// copies that were never renamed into place, or old contents left by an exchange. Never a job.
    /// </summary>
    public static void RemoveStaging(QueueHome home, string workerId)
    {
        try
        {
            Directory.Delete(home.StagingOf(workerId), recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // RACE: already gone, or the worker staged a file again (it was only cut off): next round.
        }
    }
}
