using System.Text.Json;
using CommandLine;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;
using QueueCtl.Views;

namespace QueueCtl.Cli;

[Verb("list", HelpText = "List jobs, oldest first; filters combine (AND).")]
internal sealed class ListOptions : DataOptions
{
    [Option("state", MetaValue = "S", HelpText = "Only this state: pending, processing, completed, failed or dead.")]
    public string? State { get; set; }

    [Option("limit", MetaValue = "N", HelpText = "At most N jobs; 0 for all. Default: 50 on a terminal (with a note saying how many more), all when piped or with --json.")]
    public int? Limit { get; set; }

    [Option("queue", MetaValue = "Q", HelpText = "Only jobs of queue Q.")]
    public string? Queue { get; set; }

    [Option("label", MetaValue = "L", HelpText = "Only jobs with label L (repeatable: every one).")]
    public IEnumerable<string> Label { get; set; } = [];

    [Option("grep", MetaValue = "TEXT", HelpText = "Only jobs whose id or command contains TEXT (any case).")]
    public string? Grep { get; set; }

    [Option("newest", HelpText = "Newest first.")]
    public bool Newest { get; set; }

    [Value(0, MetaName = "state", HelpText = "Same as --state: list pending = list --state pending.")]
    public string? StateArgument { get; set; }
}

internal static class ListCommand
{
    /// <summary>Jobs shown on a terminal when --limit is not given.</summary>
    public const int TerminalLimit = 50;

    public static int Run(ListOptions options, CliConsole console)
    {
        if (options.StateArgument is not null)
        {
            if (options.State is not null && options.State != options.StateArgument)
            {
                throw Failure.Usage($"Give one state: '{options.StateArgument}' or --state {options.State}, not both.");
            }
            options.State = options.StateArgument;
        }
        if (options.State is not null && !JobState.IsValid(options.State))
        {
            throw Failure.Usage($"Unknown state '{options.State}'; valid states are {string.Join(", ", JobState.All)}.");
        }
        if (options.Limit is < 0)
        {
            throw Failure.Usage("--limit must be 0 (all) or a positive number.");
        }
        // A person at a terminal gets one screenful and a note; a pipe or --json gets every job (scripts rely on it).
        var onTerminal = !options.Json && console.OutIsTerminal;
        var limit = options.Limit switch
        {
            0 => int.MaxValue,
            { } n => n,
            null => onTerminal ? TerminalLimit : int.MaxValue,
        };

        var filter = JobFilter.Create(options.Queue, options.Label, options.Grep);

        var store = new JobStore(options.ResolveHome());
        var states = options.State is null ? JobState.All : [options.State];
        // The page costs its own files, not the history's (JobPage): names give the order, only the page is read.
        var page = JobPage.Take(store, states, filter, options.Newest, offset: 0, limit, console.Clock.UtcNow());
        var jobs = page.Jobs;
        var more = page.Total is { } total ? total - jobs.Count : page.More ? (int?)null : 0;

        if (options.Json)
        {
            Output.Json(console.Out, w =>
            {
                w.WriteStartArray();
                foreach (var stored in jobs)
                {
                    if (stored.Job is { } job)
                    {
                        JsonSerializer.Serialize(w, job with { State = stored.State }, JobJson.Default.Job);
                    }
                    else
                    {
                        w.WriteStartObject();
                        w.WriteString("id", stored.Id);
                        w.WriteString("state", stored.State);
                        w.WriteString("error", stored.Error);
                        w.WriteEndObject();
                    }
                }
                w.WriteEndArray();
            });
            return 0;
        }

        if (jobs.Count == 0)
        {
            var what = options.State is null ? "jobs" : $"{options.State} jobs";
            console.Out.WriteLine(filter.IsEmpty ? $"No {what}." : $"No {what} match.");
            return 0;
        }
        var now = console.Clock.UtcNow();
        // QUEUE only when a listed job is in a named queue: the common table stays as it was.
        var showQueue = jobs.Any(s => s.Job?.Queue is not null);
        string[] QueueColumn(string queue) => showQueue ? [queue] : [];
        var rows = new List<string[]> { (string[])["ID", "STATE", .. QueueColumn("QUEUE"), "ATTEMPTS", "PRIORITY", "CREATED", "COMMAND"] };
        foreach (var stored in jobs)
        {
            if (stored.Job is { } job)
            {
                rows.Add(
                [
                    job.Id, Output.State(stored.State) + WaitingNote(store.Home, stored.State, job), .. QueueColumn(job.QueueName), $"{job.Attempts}/{job.MaxRetries + 1}", Output.Number(job.EffectivePriority),
                    Output.Relative(job.CreatedAt, now), Output.Shorten(job.Command, 60),
                ]);
            }
            else
            {
                rows.Add([stored.Id, stored.State, .. QueueColumn("-"), "-", "-", "-", $"(unreadable: {stored.Error})"]);
            }
        }
        Output.Table(console.Out, rows);
        if (page.More && options.Limit is null)
        {
            // With a filter, how many more match is not known without reading every file.
            console.Out.WriteLine(more is { } n ? $"… {n} more; use --limit 0 for all, or --limit N." : "… more match; use --limit 0 for all, or --limit N.");
        }
        return 0;
    }

    /// <summary>" (waiting for ID)" for a pending job whose parents (enqueue --after) have not all completed.</summary>
    private static string WaitingNote(QueueHome home, string state, Job job) =>
        state == JobState.Pending && job.After is { Count: > 0 } parents && Dependencies.Check(home, parents) is { Outcome: ParentsOutcome.Waiting } check
            ? $" (waiting for {check.Parent})"
            : "";
}
