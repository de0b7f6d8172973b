using QueueCtl.Jobs;
using QueueCtl.Processing;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

[CommandLine.Verb("cancel", HelpText = "Cancel jobs: each goes to dead/, not retried; a running one has its whole process tree killed first.")]
internal sealed class CancelOptions : DataOptions
{
    [CommandLine.Value(0, MetaName = "id", Required = true, HelpText = "The jobs to cancel.")]
    public IEnumerable<string> Ids { get; set; } = [];
}

/// <summary>
/// A pending, scheduled or failed job is taken like a claim and finished as dead
/// (<see cref="JobControl.CancelResting"/>). A running one gets a request file beside it
/// (<see cref="CancelRequests"/>); its processes on this host are killed at once, and its worker
/// finishes it as dead. ARCHITECTURE.md, "Cancel, remove, retry".
/// </summary>
internal static class CancelCommand
{
    public static int Run(CancelOptions options, CliConsole console)
    {
        var ids = ControlIds.Validate(options.Ids);
        var home = options.ResolveHome();
        var store = new JobStore(home);
        // A worker on another host sees the request at its next heartbeat (lease / 4, at most 5 s).
        var settle = Timing.HeartbeatInterval(ConfigStore.Load(home).WorkerLeaseSeconds) + Timing.CancelSettleMargin;
        var cancelled = new List<string>();
        var deadNow = new List<Job>();
        var failed = false;
        foreach (var id in ids)
        {
            var reason = CancelRequests.Reason(console.Clock.UtcNow());
            string? requested = null;
            var refusal = ControlIds.Retry(store, id, console.Clock, stored =>
            {
                switch (stored.State)
                {
                    case JobState.Pending or JobState.Failed:
                        return (JobControl.CancelResting(home, stored, reason, console.Clock.UtcNow(), deadNow.Add) == TakeOutcome.Done, null);
                    case JobState.Dead when stored.Job?.LastError?.StartsWith(reason, StringComparison.Ordinal) == true:
                        return (true, null); // ours: finished by its worker, or by a recovery that took it from our folder
                    case JobState.Completed or JobState.Dead:
                        return (true, $"Job '{id}' is already finished ({stored.State}); nothing to cancel.");
                    default:
                        var worker = Path.GetFileName(Path.GetDirectoryName(stored.Path)!);
                        var outcome = CancelRunning(home, worker, stored, reason, settle, console.Clock);
                        if (outcome is { Length: > 0 })
                        {
                            requested = outcome;
                            return (true, null);
                        }
                        return (false, null); // it moved, or left its worker's folder: the next look says how it ended
                }
            });
            if (refusal is not null)
            {
                console.Error.WriteLine($"queuectl: {refusal}");
                failed = true;
                continue;
            }
            cancelled.Add(id);
            if (!options.Json)
            {
                console.Out.WriteLine(requested is { Length: > 0 }
                    ? $"{id}: cancel requested; worker {requested} has not finished it yet (on another host it stops it at its next heartbeat; if it died, recovery ends it as cancelled)"
                    : $"{id} cancelled");
            }
        }
        ControlIds.PrintJson(options, console, cancelled);
        FinishHooks.RunAndWait(home, deadNow, line => console.Error.WriteLine($"queuectl: {line}"), console.Clock);
        return failed ? Failure.OperationFailed : 0;
    }

    /// <summary>
    /// Writes the request, kills the attempt's processes on this host, and waits for its worker to
    /// finish the job. Null: the job moved, look again. Empty: it left its worker's folder (the
    /// next look says how it ended). A worker id: still there when the wait ended (its worker is
    /// on another host and stops it at its next heartbeat; the request stays).
    /// </summary>
    private static string? CancelRunning(QueueHome home, string worker, StoredJob stored, string reason, TimeSpan settle, TimeProvider time)
    {
        if (!worker.StartsWith("cancel-", StringComparison.Ordinal) && !CancelRequests.Write(home, worker, stored.Id, reason))
        {
            return null; // RACE: the worker's folder went (it stopped, or was recovered): the job is elsewhere.
        }
        var deadline = time.UtcNow() + settle;
        while (File.Exists(stored.Path))
        {
            if (time.UtcNow() > deadline)
            {
                return worker;
            }
            JobProcesses.KillAll(worker, stored.Id, Timing.CancelKillWait, time);
            time.Sleep(Timing.CancelKillAgain);
        }
        // Finished before the request was seen (or by its worker, which removed it): no request may stay behind.
        CancelRequests.RemoveStray(home, worker);
        return "";
    }
}
