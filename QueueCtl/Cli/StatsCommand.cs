using QueueCtl.Protocol;
using System.Globalization;
using CommandLine;
using QueueCtl.Config;
using QueueCtl.Storage;
using QueueCtl.Views;

namespace QueueCtl.Cli;

[Verb("stats", HelpText = "Counts per state, success rate, attempts per job, durations and throughput of recently finished jobs.")]
internal sealed class StatsOptions : DataOptions
{
    [Option("window", MetaValue = "DURATION", HelpText = "How far back 'recent' reaches (default 1h).")]
    public string Window { get; set; } = "1h";
}

internal static class StatsCommand
{
    public static int Run(StatsOptions options, CliConsole console)
    {
        var window = Duration.Parse(options.Window, "--window");
        if (window <= TimeSpan.Zero)
        {
            throw Failure.Usage("--window must be longer than 0.");
        }
        var home = options.ResolveHome();
        var stats = QueueStats.Take(home, window, console.Clock.UtcNow());
        var c = stats.Counts;
        var perQueue = CounterFiles.Sum(home); // never go down: purge and retention leave them alone
        var totals = CounterFiles.Total(perQueue.Values);
        if (options.Json)
        {
            Output.Json(console.Out, w =>
            {
                w.WriteStartObject();
                w.WriteStartObject("counts");
                w.WriteNumber("pending", c.Pending);
                w.WriteNumber("ready", c.Ready);
                w.WriteNumber("scheduled", c.Scheduled);
                w.WriteNumber("processing", c.Processing);
                w.WriteNumber("completed", c.Completed);
                w.WriteNumber("failed", c.Failed);
                w.WriteNumber("dead", c.Dead);
                w.WriteNumber("rejected", c.Rejected);
                w.WriteEndObject();
                w.WriteNumber("window_seconds", window.TotalSeconds);
                w.WriteNumber("finished", stats.Finished);
                w.WriteNumber("succeeded", stats.Succeeded);
                WriteNullable(w, "success_rate", stats.SuccessRate);
                w.WriteNumber("attempts_per_job", Math.Round(stats.AttemptsPerJob, 3));
                w.WriteNumber("attempts", stats.AttemptsInWindow);
                WriteNullable(w, "duration_p50_seconds", stats.DurationP50);
                WriteNullable(w, "duration_p95_seconds", stats.DurationP95);
                w.WriteNumber("jobs_per_minute", Math.Round(stats.JobsPerMinute, 3));
                w.WriteStartObject("totals");
                WriteTotals(w, totals);
                w.WriteStartObject("queues");
                foreach (var (queue, t) in perQueue)
                {
                    w.WriteStartObject(queue);
                    WriteTotals(w, t);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            });
            return 0;
        }

        string Seconds(double? s) => s is { } v ? $"{v.ToString("0.###", CultureInfo.InvariantCulture)} s" : "-";
        Output.Table(console.Out,
        [
            ["pending", $"{c.Pending}  ({c.Ready} ready, {c.Scheduled} scheduled)"],
            ["processing", Output.Number(c.Processing)],
            ["completed", Output.Number(c.Completed)],
            ["failed", Output.Number(c.Failed)],
            ["dead", Output.Number(c.Dead)],
            [$"last {options.Window}:", ""],
            ["  finished", $"{stats.Finished}  ({stats.Succeeded} completed, {stats.Finished - stats.Succeeded} dead)"],
            ["  success rate", stats.SuccessRate is { } r ? (r * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %" : "-"],
            ["  attempts/job", stats.Finished == 0 ? "-" : stats.AttemptsPerJob.ToString("0.##", CultureInfo.InvariantCulture)],
            ["  duration p50", Seconds(stats.DurationP50)],
            ["  duration p95", Seconds(stats.DurationP95)],
            ["  jobs/minute", stats.JobsPerMinute.ToString("0.##", CultureInfo.InvariantCulture)],
            ["ever finished:", ""],
            ["  completed", Output.Number(totals.Completed)],
            ["  retried", Output.Number(totals.Failed)],
            ["  dead", Output.Number(totals.Dead)],
        ]);
        return 0;
    }

    private static void WriteTotals(System.Text.Json.Utf8JsonWriter w, QueueTotals totals)
    {
        w.WriteNumber("completed", totals.Completed);
        w.WriteNumber("retried", totals.Failed);
        w.WriteNumber("dead", totals.Dead);
    }

    private static void WriteNullable(System.Text.Json.Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, Math.Round(v, 4));
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
