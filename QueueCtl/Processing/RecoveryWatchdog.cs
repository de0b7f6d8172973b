using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// Every heartbeat interval, returns dead workers' jobs (Recovery) and now and then removes stale
/// staging files: apart from the heartbeat, so that a slow recovery never delays a renewal. A
/// worker that is itself fenced judges nobody until it has renewed again. Of the workers of one
/// process (<see cref="WorkerGroup"/>) only the first still running scans, and never judges its
/// siblings: they live and die with the process that runs the scan.
/// </summary>
internal sealed class RecoveryWatchdog(QueueHome home, string id, SettingsWatcher settings, Registration registration, Action<string> log, TimeProvider time)
{
    private readonly RepeatedFailure _trouble = new();

    /// <summary>Where the finishes of recovered jobs are counted.</summary>
    public WorkerCounters? Counters { get; init; }

    /// <summary>Runs the finish hooks of the jobs recovery finished.</summary>
    public FinishHooks? Hooks { get; init; }

    /// <summary>The workers of this process: one scan for all of them.</summary>
    public WorkerGroup? Group { get; init; }

    public async Task RunAsync(JobIndex index, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var current = settings.Current;
            try
            {
                await Task.Delay(Timing.HeartbeatInterval(current.WorkerLeaseSeconds), time, stop);
                if (registration.Fenced(out _) || Group is not null && !Group.LeadsRecovery(id))
                {
                    continue;
                }
                var recovered = WorkerRecovery.RecoverDeadWorkers(home, current, id, time, Group?.Members);
                StaleFiles.CleanNowAndThen(home, time.UtcNow());
                foreach (var job in recovered)
                {
                    log($"recovered {job.JobId} from {job.FromWorker}: now {job.State} ({job.Reason})");
                    Counters?.Add(job.Queue, job.State);
                    if (job.Final is { } final)
                    {
                        Hooks?.Start(final);
                    }
                }
                if (recovered.Count > 0)
                {
                    index.Wake();
                }
                if (_trouble.Cleared(time.UtcNow()) is { } lasted)
                {
                    log($"recovery works again after {lasted.TotalSeconds:0} s of failures");
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                var kind = e is IOException or UnauthorizedAccessException ? "" : $" (unexpected {e.GetType().Name})";
                if (_trouble.Occurred(time.UtcNow(), out var lasting))
                {
                    log($"recovery failed{kind}{lasting}: {e.Message}");
                }
            }
        }
    }
}
