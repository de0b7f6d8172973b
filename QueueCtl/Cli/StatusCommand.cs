using CommandLine;
using QueueCtl.Jobs;
using QueueCtl.Processing;
using QueueCtl.Views;

namespace QueueCtl.Cli;

[Verb("status", HelpText = "Count jobs per state (pending split into ready and scheduled), workers, next scheduled run.")]
internal sealed class StatusOptions : DataOptions
{
}

internal static class StatusCommand
{
    public static int Run(StatusOptions options, CliConsole console)
    {
        var now = console.Clock.UtcNow();
        var home = options.ResolveHome();
        var counts = QueueCounts.Take(home, now);
        var paused = PauseState.Read(home);
        if (options.Json)
        {
            Output.Json(console.Out, w =>
            {
                w.WriteStartObject();
                counts.WriteProperties(w);
                PauseState.WriteProperties(w, paused);
                w.WriteEndObject();
            });
            return 0;
        }

        string[] Row(string name, int count, string note = "") =>
            [Output.State(name), note.Length == 0 ? Output.Number(count) : $"{Output.Number(count)}  ({note})"];
        string[][] pausedRow = paused.Count > 0 ? [["paused", Paused(paused, now)]] : [];
        Output.Table(console.Out,
        [
            Row("pending", counts.Pending, $"{counts.Ready} ready, {counts.Scheduled} scheduled{(counts.Waiting > 0 ? $", {counts.Waiting} waiting for parents" : "")}"),
            Row("processing", counts.Processing),
            Row("completed", counts.Completed),
            Row("failed", counts.Failed, counts.Failed > 0 ? "waiting to retry" : ""),
            Row("dead", counts.Dead, counts.Dead > 0 ? "see: queuectl dlq list" : ""),
            Row("rejected", counts.Rejected, counts.Rejected > 0 ? "invalid dropped files, see rejected/" : ""),
            Row("workers", counts.Workers, WorkersNote(counts)),
            ["next run", counts.NextRun is { } at ? $"{UtcTimestamp.ToText(at)} ({Output.Relative(at, now)})" : "none"],
            .. QueueRows(counts),
            .. pausedRow,
        ]);
        return 0;
    }

    /// <summary>
    /// "2 on host1, 2 on host2" (a home shared over a network file system has workers of several
    /// hosts), then the dead ones still registered: "1 dead: w-… (its jobs return at the next recovery)".
    /// </summary>
    private static string WorkersNote(QueueCounts counts)
    {
        var notes = new List<string>();
        if (counts.Workers > 0)
        {
            notes.Add(string.Join(", ", counts.LiveWorkers
                .GroupBy(r => r.Host)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => $"{g.Count()} on {g.Key}")));
        }
        if (counts.DeadWorkers > 0)
        {
            notes.Add($"{counts.DeadWorkers} dead: {string.Join(", ", counts.DeadWorkerRecords.Select(r => r.Id))}, "
                + "their jobs return at the next recovery by a worker or 'queuectl recover'");
        }
        return string.Join("; ", notes);
    }

    /// <summary>
    /// One row per queue with unfinished jobs or a limit, only when there is more than the default
    /// queue (or it has a limit); a limited queue starts with its slots in use: "lim: 1/2 running, …".
    /// </summary>
    private static string[][] QueueRows(QueueCounts counts) => !counts.SeveralQueues ? [] :
        [.. counts.Queues.Select((q, i) => new[]
        {
            i == 0 ? "queues" : "",
            $"{q.Key}: {(q.Value.Limit is { } limit ? $"{q.Value.Running}/{limit} running, " : "")}{q.Value.Ready} ready, {q.Value.Scheduled} scheduled, {(q.Value.Waiting > 0 ? $"{q.Value.Waiting} waiting, " : "")}{q.Value.Processing} processing, {q.Value.Failed} failed",
        })];

    /// <summary>What is paused, since when, and how to undo it.</summary>
    private static string Paused(List<PauseSwitch> paused, DateTime now) => string.Join("; ", paused.Select(s =>
        (s.Queue is null ? "all queues" : $"queue {s.Queue}")
        + (s.PausedAt is { } at ? $" since {Output.Relative(at, now)}" : "")
        + $" (queuectl resume{(s.Queue is null ? "" : " --queue " + s.Queue)})"));
}
