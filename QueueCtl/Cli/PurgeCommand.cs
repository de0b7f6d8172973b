using CommandLine;
using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Protocol;

namespace QueueCtl.Cli;

[Verb("purge", HelpText = "Delete finished jobs and their logs: purge --state completed|dead [--older-than 7d] [--dry-run].")]
internal sealed class PurgeOptions : DataOptions
{
    [Option("state", Required = true, MetaValue = "S", HelpText = "completed or dead.")]
    public string State { get; set; } = "";

    [Option("older-than", MetaValue = "DURATION", HelpText = "Only jobs that finished longer ago than this (e.g. 7d); default: all.")]
    public string? OlderThan { get; set; }

    [Option("dry-run", HelpText = "Print what would go, delete nothing.")]
    public bool DryRun { get; set; }
}

/// <summary>Housekeeping: the one command that deletes jobs, and only finished ones, by explicit request.</summary>
internal static class PurgeCommand
{
    public static int Run(PurgeOptions options, CliConsole console)
    {
        if (options.State is not (JobState.Completed or JobState.Dead))
        {
            throw Failure.Usage($"purge takes --state completed or --state dead, not '{options.State}'.");
        }
        var age = options.OlderThan is null ? TimeSpan.Zero : Duration.Parse(options.OlderThan, "--older-than");
        var home = options.ResolveHome();
        var cutoff = console.Clock.UtcNow() - age;
        var store = new JobStore(home);
        var chosen = store.ReadAll(options.State)
            .Where(s => (s.Job?.FinishedAt ?? s.Job?.UpdatedAt ?? File.GetLastWriteTimeUtc(s.Path)) <= cutoff)
            .OrderBy(s => s.Id, StringComparer.Ordinal)
            .ToList();

        var purged = new List<string>();
        var aside = Path.Combine(home.Tmp, $"purge-{Environment.ProcessId}");
        foreach (var stored in chosen)
        {
            if (!options.DryRun)
            {
                // Taken aside by a rename first (the finished index hears of it), then deleted.
                Directory.CreateDirectory(aside);
                var taken = Path.Combine(aside, Path.GetFileName(stored.Path));
                if (!Retirement.TakeAside(stored.Path, taken))
                {
                    continue; // RACE: retried, removed or retired by someone else first.
                }
                File.Delete(taken);
                var logs = Path.Combine(home.Logs, stored.Id);
                if (Directory.Exists(logs))
                {
                    Directory.Delete(logs, recursive: true);
                }
            }
            purged.Add(stored.Id);
        }
        if (Directory.Exists(aside))
        {
            Directory.Delete(aside);
        }

        if (options.Json)
        {
            Output.Json(console.Out, w =>
            {
                w.WriteStartObject();
                w.WriteBoolean("dry_run", options.DryRun);
                w.WriteStartArray("purged");
                purged.ForEach(w.WriteStringValue);
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return 0;
        }
        var what = $"{purged.Count} {options.State} job{(purged.Count == 1 ? "" : "s")}";
        var when = options.OlderThan is null ? "" : $" older than {options.OlderThan}";
        if (options.DryRun)
        {
            purged.ForEach(console.Out.WriteLine);
            console.Out.WriteLine($"Would purge {what}{when} and their logs (dry run: nothing deleted).");
        }
        else
        {
            console.Out.WriteLine($"Purged {what}{when} and their logs.");
        }
        return 0;
    }
}
