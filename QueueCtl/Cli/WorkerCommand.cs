using CommandLine;
using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Processing;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

[Verb("worker", HelpText = "Run jobs: worker start [--count N] [--processes P] [--foreground] | worker stop [--timeout S] | worker list.")]
internal sealed class WorkerOptions : DataOptions
{
    [Value(0, MetaName = "action", Required = true, HelpText = "start, stop or list.")]
    public string Action { get; set; } = "";

    [Option("count", MetaValue = "N", HelpText = "start: how many workers (default 1).")]
    public int Count { get; set; } = 1;

    [Option("processes", MetaValue = "P", HelpText = "start: spread the workers over P background processes (default 1: one process and one index for all; P = N gives each worker its own process, so one crash takes down one worker).")]
    public int Processes { get; set; } = 1;

    [Option("foreground", HelpText = "start: stay attached; Ctrl-C or SIGTERM stops after the current jobs.")]
    public bool Foreground { get; set; }

    [Option("timeout", MetaValue = "S", HelpText = "stop: how long to wait for running jobs to finish (default 60s).")]
    public string Timeout { get; set; } = "60s";

    [Option("queue", MetaValue = "Q[,Q…]", Separator = ',', HelpText = "start: take jobs only from these queues (repeatable; default: every queue).")]
    public IEnumerable<string> Queue { get; set; } = [];

    [Option("id", Hidden = true, Separator = ',', HelpText = "The worker ids, one per --count (used by start to launch detached workers).")]
    public IEnumerable<string> Id { get; set; } = [];
}

internal static class WorkerCommand
{
    private const int SigTerm = 15;

    public static int Run(WorkerOptions options, CliConsole console) => options.Action switch
    {
        "start" => Start(options, console),
        "stop" => Stop(options, console),
        "list" => List(options, console),
        _ => throw Failure.Usage($"Unknown worker action '{options.Action}'; use start, stop or list."),
    };

    private static int Start(WorkerOptions options, CliConsole console)
    {
        if (options.Count is < 1 or > 256)
        {
            throw Failure.Usage("--count must be from 1 to 256.");
        }
        if (options.Processes < 1 || options.Processes > options.Count || options.Foreground && options.Processes != 1)
        {
            throw Failure.Usage(options.Foreground
                ? "--processes does not go with --foreground: a foreground start runs its workers in its own process."
                : "--processes must be from 1 to the --count of workers.");
        }
        var given = options.Id.ToList();
        if (given.Count > 0 && (given.Any(id => !WorkerId.IsValid(id)) || given.Distinct(StringComparer.Ordinal).Count() != options.Count))
        {
            throw Failure.Usage("--id takes one valid id per worker of --count.");
        }
        var queues = Queues(options);
        var home = options.ResolveHomeCreatedOnFirstUse();
        home.EnsureCreated();
        var ids = given.Count > 0 ? given : Enumerable.Range(0, options.Count).Select(_ => WorkerId.New()).ToList();
        if (options.Foreground)
        {
            var detachedLogs = WorkerLog.ForDetached(home, ids, console.Clock);
            try
            {
                return WorkerHost.Run(home, ids, console.Out, console.Clock, queues, detachedLogs);
            }
            finally
            {
                foreach (var log in detachedLogs ?? [])
                {
                    log.Dispose();
                }
            }
        }

        WorkerLauncher.Start(home, ids, options.Processes, Timing.WorkerStartWait, console.Clock, queues);
        if (options.Json)
        {
            Output.Json(console.Out, w =>
            {
                w.WriteStartArray();
                ids.ForEach(w.WriteStringValue);
                w.WriteEndArray();
            });
        }
        else
        {
            foreach (var id in ids)
            {
                console.Out.WriteLine(id);
            }
            if (!options.Quiet)
            {
                console.Error.WriteLine($"Started {ids.Count} worker{(ids.Count == 1 ? "" : "s")} in the background; logs in {home.Workers}/<id>.log.");
            }
        }
        return 0;
    }

    private static int Stop(WorkerOptions options, CliConsole console)
    {
        var timeout = Duration.Parse(options.Timeout, "--timeout");
        var home = options.ResolveHome();
        var registry = new WorkerRegistry(home);
        var records = registry.ReadAll();
        var here = records.Where(r => r.Host == WorkerId.Host && IsQueuectl(r.Pid)).ToList();
        var elsewhere = records.Where(r => r.Host != WorkerId.Host).ToList();
        if (here.Count == 0)
        {
            RemoveStaleMarkers(home, registry);
            console.Out.WriteLine(elsewhere.Count == 0
                ? "No workers are running."
                : $"No workers of this host are running; {elsewhere.Count} run on other hosts: stop them there.");
            return 0;
        }

        // A worker process stops gracefully at the first SIGTERM and at once at the second (WorkerHost):
        // workers/<id>.stopping marks that a stop was already asked, so that this request knows
        // which workers it stops at once, and says so, instead of reporting a plain stop.
        var askedBefore = here.Where(r => File.Exists(StopMarker(home, r.Id))).Select(r => r.Pid).ToHashSet();
        var atOnce = here.Where(r => askedBefore.Contains(r.Pid)).ToList();
        foreach (var record in here.Where(r => !askedBefore.Contains(r.Pid)))
        {
            MarkStopAsked(home, record.Id, console.Clock.UtcNow());
        }
        foreach (var pid in here.Select(r => r.Pid).Distinct())
        {
            Native.Signal(pid, SigTerm);
        }
        if (!options.Quiet && !options.Json)
        {
            var graceful = here.Except(atOnce).ToList();
            if (graceful.Count > 0)
            {
                var waiting = string.Join(", ", graceful.Select(r => r.CurrentJob is null ? r.Id : $"{r.Id} (running {r.CurrentJob})"));
                console.Error.WriteLine($"Waiting up to {SecondsText.Format(timeout.TotalSeconds)} s for {graceful.Count} worker{(graceful.Count == 1 ? "" : "s")} to finish: {waiting}");
            }
            if (atOnce.Count > 0)
            {
                var killing = string.Join(", ", atOnce.Select(r => r.CurrentJob is null ? r.Id : $"{r.Id} (killing {r.CurrentJob})"));
                console.Error.WriteLine($"Stopping at once (a stop had already been asked): {killing}");
            }
        }

        var deadline = console.Clock.UtcNow() + timeout;
        List<WorkerRecord> remaining;
        while (true)
        {
            remaining = here.Where(r => Native.ProcessExists(r.Pid) && IsQueuectl(r.Pid)).ToList();
            if (remaining.Count == 0 || console.Clock.UtcNow() > deadline)
            {
                break;
            }
            console.Clock.Sleep(Timing.WorkerStopPoll);
        }
        foreach (var record in here.Except(remaining))
        {
            File.Delete(StopMarker(home, record.Id));
        }
        RemoveStaleMarkers(home, registry);
        if (remaining.Count > 0)
        {
            throw Failure.Operation(
                $"Still running after {SecondsText.Format(timeout.TotalSeconds)} s: {string.Join(", ", remaining.Select(r => r.Id))}; "
                + "run 'queuectl worker stop' again to stop at once (running jobs are killed and retried later), or wait.");
        }
        var stoppedGracefully = here.Count - atOnce.Count;
        var report = new List<string>();
        if (stoppedGracefully > 0)
        {
            report.Add($"Stopped {stoppedGracefully} worker{(stoppedGracefully == 1 ? "" : "s")}.");
        }
        if (atOnce.Count > 0)
        {
            var left = atOnce.Select(r =>
            {
                var jobs = LeftJobs(home, r.Id);
                return jobs.Count == 0
                    ? $"{r.Id} (no job left)"
                    : $"{r.Id} (killed {string.Join(", ", jobs)}: left in processing/{r.Id}/ for recovery, which counts it as a failed attempt)";
            });
            report.Add($"Stopped {atOnce.Count} worker{(atOnce.Count == 1 ? "" : "s")} at once: {string.Join("; ", left)}.");
        }
        console.Out.WriteLine(string.Join(" ", report));
        return 0;
    }

    /// <summary>The queues of --queue, checked and without repeats; null (every queue) when not given.</summary>
    private static List<string>? Queues(WorkerOptions options)
    {
        var queues = new List<string>();
        foreach (var queue in options.Queue)
        {
            if (!JobId.IsValid(queue))
            {
                throw Failure.Usage($"Invalid queue name '{queue}' in --queue: a queue name is {JobId.Rule}.");
            }
            if (!queues.Contains(queue, StringComparer.Ordinal))
            {
                queues.Add(queue);
            }
        }
        return queues.Count == 0 ? null : queues;
    }

    /// <summary>workers/&lt;id&gt;.stopping: a graceful stop was asked of this worker (see <see cref="Stop"/>).</summary>
    private static string StopMarker(QueueHome home, string workerId) => Path.Combine(home.Workers, workerId + ".stopping");

    private static void MarkStopAsked(QueueHome home, string workerId, DateTime now)
    {
        try
        {
            File.WriteAllText(StopMarker(home, workerId), $"{UtcTimestamp.ToText(now)} stop asked by pid {Environment.ProcessId}\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only home: the stop still works, a second one only cannot tell it is the second.
        }
    }

    /// <summary>Markers of workers that are no longer registered (they exited, or recovery removed them).</summary>
    private static void RemoveStaleMarkers(QueueHome home, WorkerRegistry registry)
    {
        try
        {
            foreach (var marker in Directory.EnumerateFiles(home.Workers, "*.stopping"))
            {
                if (!File.Exists(registry.PathOf(Path.GetFileNameWithoutExtension(marker))))
                {
                    File.Delete(marker);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // RACE: another stop removed them, or the home is read-only: the next stop tries again.
        }
    }

    /// <summary>The ids of the jobs a worker stopped at once left in its processing folder.</summary>
    private static List<string> LeftJobs(QueueHome home, string workerId)
    {
        try
        {
            return Directory.EnumerateFiles(home.ProcessingFolder(workerId), "*.json")
                .Select(p => Path.GetFileNameWithoutExtension(p)).Order(StringComparer.Ordinal).ToList();
        }
        catch (DirectoryNotFoundException)
        {
            return []; // RACE: recovery already returned them.
        }
    }

    private static int List(WorkerOptions options, CliConsole console)
    {
        var home = options.ResolveHome();
        var now = console.Clock.UtcNow();
        var registry = new WorkerRegistry(home);
        var records = registry.ReadAll();
        var liveness = registry.Judge(ConfigStore.Load(home), now);
        if (options.Json)
        {
            Output.Json(console.Out, w =>
            {
                w.WriteStartArray();
                foreach (var r in records)
                {
                    w.WriteStartObject();
                    w.WriteString("id", r.Id);
                    w.WriteNumber("pid", r.Pid);
                    w.WriteString("host", r.Host);
                    w.WriteString("state", liveness.DeathReason(r) is null ? r.State : "dead");
                    w.WriteNumber("heartbeat_age_seconds", Math.Round(liveness.HeartbeatAge(r).TotalSeconds, 1));
                    w.WriteString("current_job", r.CurrentJob);
                    w.WriteStartArray("queues");
                    foreach (var queue in r.Queues ?? [])
                    {
                        w.WriteStringValue(queue);
                    }
                    w.WriteEndArray();
                    w.WriteString("started_at", UtcTimestamp.ToText(r.StartedAt));
                    w.WriteString("heartbeat_at", UtcTimestamp.ToText(r.HeartbeatAt));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            return 0;
        }
        var paused = PauseState.Read(home);
        if (paused.Count > 0)
        {
            // Each worker's STATE says "paused" once it has seen the switch (at its next wake, within 5 s).
            console.Out.WriteLine($"Paused: {string.Join(", ", paused.Select(p => p.Queue is null ? "all queues" : $"queue {p.Queue}"))}; workers take no new job (queuectl resume).");
        }
        if (records.Count == 0)
        {
            console.Out.WriteLine("No workers.");
            return 0;
        }
        // QUEUES only when some worker serves named queues: the common table stays as it was.
        var showQueues = records.Any(r => r.Queues is { Count: > 0 });
        var rows = new List<string[]> { showQueues
            ? new[] { "ID", "PID", "HOST", "STATE", "QUEUES", "JOB", "UPTIME", "HEARTBEAT" }
            : new[] { "ID", "PID", "HOST", "STATE", "JOB", "UPTIME", "HEARTBEAT" } };
        rows.AddRange(records.Select(r => (string[])
        [
            r.Id, Output.Number(r.Pid), r.Host, Output.State(liveness.DeathReason(r) is null ? r.State : "dead"),
            .. QueuesColumn(showQueues, r),
            r.CurrentJob ?? "-", Output.Relative(r.StartedAt, now).Replace(" ago", ""), Output.Relative(now - liveness.HeartbeatAge(r), now),
        ]));
        Output.Table(console.Out, rows);
        return 0;
    }

    private static string[] QueuesColumn(bool shown, WorkerRecord record) =>
        !shown ? [] : [record.Queues is { Count: > 0 } queues ? string.Join(",", queues) : "(all)"];

    /// <summary>Guards against pid reuse: only signal a process that is a queuectl worker.</summary>
    private static bool IsQueuectl(int pid)
    {
        try
        {
            var commandLine = File.ReadAllText($"/proc/{pid}/cmdline");
            return commandLine.Contains("queuectl", StringComparison.Ordinal) && commandLine.Contains("worker", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
