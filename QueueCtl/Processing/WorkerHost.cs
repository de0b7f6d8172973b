using System.Runtime.InteropServices;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// Runs workers in this process until SIGTERM, SIGINT or SIGHUP: the first signal stops gracefully
/// (each worker finishes its current job), a second one stops at once (jobs stay claimed and
/// are returned by recovery). The workers share one index and one recovery scan (<see cref="WorkerGroup"/>);
/// each keeps its own registration, heartbeat, processing folder and guard.
/// </summary>
internal static class WorkerHost
{
    /// <param name="queues">The queues the workers take jobs from (`--queue`); null for every queue.</param>
    /// <param name="workerLogs">A detached process: each worker's own log (workers/&lt;id&gt;.log), in the order of the ids; else null (all in <paramref name="log"/>).</param>
    public static int Run(QueueHome home, IReadOnlyList<string> workerIds, TextWriter log, TimeProvider time, IReadOnlyList<string>? queues = null,
        IReadOnlyList<TextWriter>? workerLogs = null)
    {
        TextWriter LogOf(int i) => workerLogs?[i] ?? log;
        void LogAll(string message)
        {
            foreach (var each in workerLogs ?? [log])
            {
                WorkerLog.WriteLine(each, message, time);
            }
        }
        // Each running job blocks its worker's pool thread (one poll loop, see Spawn.Drain): keep enough ready.
        ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
        ThreadPool.SetMinThreads(Math.Max(minWorkers, workerIds.Count + 4), minIo);
        using var graceful = new CancellationTokenSource();
        using var abort = new CancellationTokenSource();
        var signals = 0;
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (Interlocked.Increment(ref signals) == 1)
            {
                LogAll($"{context.Signal}: stopping after the current jobs (send it again to stop now)");
                graceful.Cancel();
            }
            else
            {
                abort.Cancel();
                graceful.Cancel();
            }
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        // A closed terminal or ssh session (SIGHUP) stops a foreground worker gracefully too; a
        // detached worker has no terminal (setsid) and never gets one.
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);

        // Task.Run: a worker's loop runs a job synchronously, so started inline the first worker
        // that finds a job at once would keep the others from starting until that job ends.
        // The first worker's guard writes to the process's stderr, which is that worker's log.
        var group = new WorkerGroup();
        var workers = workerIds.Select((id, i) => Task.Run(() =>
            new Worker(home.ForWorker(id, queues), id, LogOf(i), time, group, i > 0 && workerLogs is not null ? WorkerLauncher.LogPath(home, id) : null)
                .RunAsync(graceful.Token, abort.Token))).ToArray();
        try
        {
            Task.WaitAll(workers);
            return 0;
        }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is OperationCanceledException))
        {
            LogAll("stopped at once; running jobs are left for recovery");
            return 143;
        }
        catch (AggregateException e) when (e.InnerExceptions.FirstOrDefault(x => x is Failure) is Failure failure)
        {
            throw failure; // a worker could not start (a full disk): one sentence, exit 1
        }
    }
}
