using System.Globalization;
using System.Text;
using System.Text.Json;
using CommandLine;
using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

[Verb("enqueue", HelpText = "Add a job: a JSON object, --command, or JSON Lines from --file F or '-' (stdin).")]
internal sealed class EnqueueOptions : DataOptions
{
    [Value(0, MetaName = "json", HelpText = "The job as a JSON object (at least \"command\"), or - to read JSON Lines from stdin.")]
    public string? JobJson { get; set; }

    [Option("command", MetaValue = "CMD", HelpText = "The shell command to run (instead of JSON).")]
    public string? Command { get; set; }

    [Option("id", MetaValue = "ID", HelpText = "Job id (default: generated, sortable by time).")]
    public string? Id { get; set; }

    [Option("max-retries", MetaValue = "N", HelpText = "Retries after the first attempt (default: config max-retries).")]
    public int? MaxRetries { get; set; }

    [Option("priority", MetaValue = "N", HelpText = "Higher runs first (default 0).")]
    public int? Priority { get; set; }

    [Option("run-at", MetaValue = "TIME", HelpText = "Earliest start, ISO-8601 (e.g. 2025-11-04T10:30:00Z).")]
    public string? RunAt { get; set; }

    [Option("delay", MetaValue = "DURATION", HelpText = "Earliest start from now: 10s, 5m, 1h.")]
    public string? Delay { get; set; }

    [Option("timeout", MetaValue = "DURATION", HelpText = "Time limit of one attempt: 30s, 5m.")]
    public string? Timeout { get; set; }

    [Option("file", MetaValue = "F", HelpText = "Read jobs from F, one JSON object per line.")]
    public string? File { get; set; }
}

internal static class EnqueueCommand
{
    public static int Run(EnqueueOptions options, CliConsole console)
    {
        var sources = new[] { options.JobJson is not null, options.Command is not null, options.File is not null }.Count(x => x);
        if (sources != 1)
        {
            throw Failure.Usage("Give exactly one of: a JSON job, --command CMD, --file F, or - for stdin.");
        }
        var flagsUsed = options.Id ?? options.RunAt ?? options.Delay ?? options.Timeout
            ?? options.MaxRetries?.ToString(CultureInfo.InvariantCulture) ?? options.Priority?.ToString(CultureInfo.InvariantCulture);
        if (options.Command is null && flagsUsed is not null)
        {
            throw Failure.Usage("--id, --max-retries, --priority, --run-at, --delay and --timeout go with --command; in JSON, use the job's keys.");
        }

        var home = options.ResolveHome();
        if (options.File is not null || options.JobJson == "-")
        {
            var lines = ReadLines(options.File, console);
            home.EnsureCreated();
            return EnqueueLines(home, lines, options, console);
        }

        var json = options.Command is not null ? CommandToJson(options) : options.JobJson!;
        var settings = ConfigStore.Load(home);
        var job = JobParser.Parse(json, Defaults(settings));
        home.EnsureCreated();
        new JobStore(home).Enqueue(job);
        if (options.Json)
        {
            Output.Json(console.Out, w =>
            {
                w.WriteStartObject();
                w.WriteString("id", job.Id);
                w.WriteEndObject();
            });
        }
        else
        {
            console.Out.WriteLine(job.Id);
        }
        return 0;
    }

    private static JobDefaults Defaults(Settings settings) =>
        new(settings.MaxRetries, Environment.CurrentDirectory, DateTime.UtcNow);

    private static string[] ReadLines(string? file, CliConsole console)
    {
        if (file is null)
        {
            return console.In.ReadToEnd().Split('\n');
        }
        try
        {
            return System.IO.File.ReadAllText(file).Split('\n');
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw Failure.Usage($"The file '{file}' does not exist.");
        }
    }

    /// <summary>Each line is enqueued or refused on its own; the exit code is the worst refusal's.</summary>
    private static int EnqueueLines(QueueHome home, string[] lines, EnqueueOptions options, CliConsole console)
    {
        var json = options.Json;
        var total = lines.Count(l => l.Trim().Length > 0);
        var progress = options.ShowProgress && total >= 100;
        var store = new JobStore(home);
        var settings = ConfigStore.Load(home);
        var added = new List<string>();
        var refused = new List<(int Line, string Error)>();
        var exitCode = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }
            try
            {
                var job = JobParser.Parse(line, Defaults(settings));
                store.Enqueue(job);
                added.Add(job.Id);
            }
            catch (Failure failure)
            {
                refused.Add((i + 1, failure.Message));
                exitCode = Math.Max(exitCode, failure.ExitCode);
            }
            if (progress && (added.Count + refused.Count) % 100 == 0)
            {
                console.Error.Write($"\renqueued {added.Count} of {total} lines…");
            }
        }
        if (progress)
        {
            console.Error.Write("\r\u001b[K");
        }

        if (json)
        {
            Output.Json(console.Out, w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("enqueued");
                added.ForEach(w.WriteStringValue);
                w.WriteEndArray();
                w.WriteStartArray("refused");
                foreach (var (line, error) in refused)
                {
                    w.WriteStartObject();
                    w.WriteNumber("line", line);
                    w.WriteString("error", error);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }
        else
        {
            foreach (var (line, error) in refused.Where(_ => !options.Quiet))
            {
                console.Error.WriteLine($"line {line}: {error}");
            }
            console.Out.WriteLine($"Enqueued {Plural(added.Count, "job")}, refused {Plural(refused.Count, "line")}.");
        }
        return exitCode;
    }

    private static string Plural(int count, string noun) => $"{count} {noun}{(count == 1 ? "" : "s")}";

    /// <summary>Builds the same JSON a user would write, so --command and JSON share every rule.</summary>
    private static string CommandToJson(EnqueueOptions options)
    {
        if (options.RunAt is not null && options.Delay is not null)
        {
            throw Failure.Usage("Give --run-at or --delay, not both.");
        }
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("command", options.Command);
            if (options.Id is not null)
            {
                w.WriteString("id", options.Id);
            }
            if (options.MaxRetries is { } maxRetries)
            {
                w.WriteNumber("max_retries", maxRetries);
            }
            if (options.Priority is { } priority)
            {
                w.WriteNumber("priority", priority);
            }
            if (options.RunAt is not null)
            {
                if (!UtcTimestamp.TryParse(options.RunAt, out var runAt))
                {
                    throw Failure.Usage($"Invalid --run-at '{options.RunAt}': expected an ISO-8601 time such as 2025-11-04T10:30:00Z.");
                }
                w.WriteString("not_before", UtcTimestamp.ToText(runAt));
            }
            if (options.Delay is not null)
            {
                var delay = Duration.Parse(options.Delay, "--delay");
                w.WriteString("not_before", UtcTimestamp.ToText(DateTime.UtcNow + delay));
            }
            if (options.Timeout is not null)
            {
                var timeout = Duration.Parse(options.Timeout, "--timeout");
                if (timeout <= TimeSpan.Zero)
                {
                    throw Failure.Usage("--timeout must be greater than 0.");
                }
                w.WriteNumber("timeout_seconds", timeout.TotalSeconds);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
