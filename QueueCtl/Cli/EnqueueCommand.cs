using System.Globalization;
using System.Text;
using System.Text.Json;
using CommandLine;
using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

[Verb("enqueue", HelpText = "Add a job: a JSON object, --command CMD, -- CMD ARGS…, or JSON Lines from --file F or '-' (stdin).")]
internal sealed class EnqueueOptions : DataOptions, ITakesCommandArguments
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

    [Option("env", MetaValue = "K[=V]", HelpText = "Set K in the job's environment (repeatable); K alone copies K from here.")]
    public IEnumerable<string> Env { get; set; } = [];

    [Option("queue", MetaValue = "Q", HelpText = "Put the job(s) in queue Q (default: the JSON's \"queue\", else default).")]
    public string? Queue { get; set; }

    [Option("label", MetaValue = "L", HelpText = "Add label L to the job(s) (repeatable), kept in \"labels\".")]
    public IEnumerable<string> Label { get; set; } = [];

    [Option("after", Separator = ',', MetaValue = "ID[,ID…]", HelpText = "Run only after these jobs have completed; if one ends dead or is cancelled, this one goes dead without running.")]
    public IEnumerable<string> After { get; set; } = [];

    [Option("on-finish", MetaValue = "CMD", HelpText = "Run CMD after the job completes or goes dead (instead of config on-finish).")]
    public string? OnFinish { get; set; }

    [Option("env-all", HelpText = "Copy this whole environment into the job (not QUEUECTL_*); --env and JSON \"env\" win over it.")]
    public bool EnvAll { get; set; }

    /// <summary>Words after the JSON: only there to say that `enqueue echo hi` wants `--`.</summary>
    [Value(1, MetaName = "more", Hidden = true)]
    public IEnumerable<string> MoreWords { get; set; } = [];

    /// <summary>`enqueue -- CMD ARGS…`: the words after `--`, set by <see cref="CommandLineEntry"/>.</summary>
    public IReadOnlyList<string>? CommandArguments { get; set; }
}

internal static class EnqueueCommand
{
    public static int Run(EnqueueOptions options, CliConsole console)
    {
        var sources = new[] { options.JobJson is not null, options.Command is not null, options.File is not null, options.CommandArguments is not null }.Count(x => x);
        if (sources != 1)
        {
            throw Failure.Usage("Give exactly one of: a JSON job, --command CMD, -- CMD ARGS…, --file F, or - for stdin.");
        }
        if (options.CommandArguments is { } words)
        {
            if (words.Count == 0)
            {
                throw Failure.Usage("Nothing follows '--': give the command to run, as in `queuectl enqueue -- echo hi`.");
            }
            options.Command = ArgumentConventions.ShellJoin(words);
        }
        CheckIsJsonObject(options);
        var environment = JobEnvironment.FromOptions(options);
        var placement = Placement.FromOptions(options);
        var flagsUsed = options.Id ?? options.RunAt ?? options.Delay ?? options.Timeout
            ?? options.MaxRetries?.ToString(CultureInfo.InvariantCulture) ?? options.Priority?.ToString(CultureInfo.InvariantCulture);
        if (options.Command is null && flagsUsed is not null)
        {
            throw Failure.Usage("--id, --max-retries, --priority, --run-at, --delay and --timeout go with --command; in JSON, use the job's keys.");
        }

        var home = options.ResolveHomeCreatedOnFirstUse();
        if (options.File is not null || options.JobJson == "-")
        {
            var lines = ReadLines(options.File, console);
            home.EnsureCreated();
            return EnqueueLines(home, lines, options, environment, placement, console);
        }

        var json = options.Command is not null ? CommandToJson(options, console.Clock) : options.JobJson!;
        CheckArgumentsAreUtf8(options.Command ?? options.JobJson!);
        var settings = ConfigStore.Load(home);
        var job = placement.Apply(Parse(json, environment, settings, console.Clock));
        CheckWrittenSize(job);
        Dependencies.CheckNewJob(home, job);
        home.EnsureCreated();
        new JobStore(home).Enqueue(job, console.Clock.UtcNow());
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

    private static JobDefaults Defaults(Settings settings, TimeProvider time) =>
        new(settings.MaxRetries, Environment.CurrentDirectory, time.UtcNow());

    /// <summary>The job as given, checked; then, with --env or --env-all, again with its merged env.</summary>
    private static Job Parse(string json, JobEnvironment environment, Settings settings, TimeProvider time)
    {
        var job = JobParser.Parse(json, Defaults(settings, time));
        return environment.IsEmpty ? job : JobParser.Parse(environment.MergeInto(json), Defaults(settings, time));
    }

    /// <summary>
    /// --queue and --label, checked before anything is read or written; they apply to every job of
    /// the request like --env: --queue wins over the JSON's "queue", --label adds to its "labels".
    /// </summary>
    private sealed record Placement(string? Queue, List<string>? Labels, List<string>? After, string? OnFinish)
    {
        public static Placement FromOptions(EnqueueOptions options) => new(
            options.Queue is null ? null : JobParser.NormalizeQueue(options.Queue, "--queue") ?? Job.DefaultQueue,
            JobParser.NormalizeLabels(options.Label, "--label"),
            JobParser.NormalizeAfter(options.After, options.Id ?? "", "--after"),
            OnFinishOption(options.OnFinish));

        private static string? OnFinishOption(string? command) =>
            command is null ? null
            : command.Trim().Length == 0 ? throw Failure.Usage("--on-finish needs a command.")
            : command.Contains('\0', StringComparison.Ordinal) ? throw Failure.Usage("--on-finish cannot hold a NUL character.")
            : command;

        public Job Apply(Job job)
        {
            if (Queue is not null)
            {
                job = job with { Queue = Queue == Job.DefaultQueue ? null : Queue };
            }
            if (Labels is not null)
            {
                job = job with { Labels = JobParser.NormalizeLabels([.. job.Labels ?? [], .. Labels], "--label") };
            }
            if (After is not null)
            {
                job = job with { After = JobParser.NormalizeAfter([.. job.After ?? [], .. After], job.Id, "--after") };
            }
            if (OnFinish is not null)
            {
                job = job with { OnFinish = OnFinish };
            }
            return job;
        }
    }

    /// <summary>`queuectl enqueue 'echo hi'` or `queuectl enqueue echo hi`: a command where a JSON job goes.</summary>
    private static void CheckIsJsonObject(EnqueueOptions options)
    {
        if (options.JobJson is null or "-")
        {
            if (options.MoreWords.Any())
            {
                throw Failure.Usage($"Unexpected argument '{options.MoreWords.First()}'; a command to run goes after '--': `queuectl enqueue -- CMD ARGS…`.");
            }
            return;
        }
        if (options.JobJson.TrimStart().StartsWith('{'))
        {
            if (options.MoreWords.Any())
            {
                throw Failure.Usage($"Unexpected argument '{options.MoreWords.First()}' after the JSON job.");
            }
            return;
        }
        string[] words = [options.JobJson, .. options.MoreWords];
        var text = string.Join(' ', words);
        throw Failure.Usage(
            $"'{Shorten(text)}' is not a JSON object; to enqueue a command write `queuectl enqueue -- {Shorten(text)}` or `--command {Shorten(ArgumentConventions.ShellQuote(text))}`.");
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";

    /// <summary>Input bytes are decoded strictly: a byte that is not UTF-8 refuses the whole input, never a silent U+FFFD.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static string[] ReadLines(string? file, CliConsole console)
    {
        string text;
        if (file is null)
        {
            if (console.In is not StreamReader stdin)
            {
                return console.In.ReadToEnd().Split('\n'); // a test's reader: already text
            }
            using var buffer = new MemoryStream();
            stdin.BaseStream.CopyTo(buffer); // bytes, decoded strictly below; nothing was read through the reader
            text = DecodeInput(buffer.ToArray(), "standard input");
        }
        else
        {
            try
            {
                text = DecodeInput(System.IO.File.ReadAllBytes(file), $"'{file}'");
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw Failure.Usage($"The file '{file}' does not exist.");
            }
        }
        return text.Split('\n');
    }

    private static string DecodeInput(byte[] bytes, string what)
    {
        try
        {
            var text = StrictUtf8.GetString(bytes);
            return text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
        }
        catch (DecoderFallbackException e)
        {
            var line = 1 + bytes.AsSpan(0, Math.Max(0, Math.Min(e.Index, bytes.Length))).Count((byte)'\n');
            throw Failure.Usage($"The input from {what} is not valid UTF-8 text (line {line}); nothing was enqueued.");
        }
    }

    /// <summary>
    /// .NET turns bytes of the command line that are not UTF-8 into U+FFFD before Main sees them:
    /// when the job holds one, look at the raw arguments (/proc/self/cmdline) to tell a typed U+FFFD
    /// from a byte that was replaced.
    /// </summary>
    private static void CheckArgumentsAreUtf8(string argument)
    {
        if (!argument.Contains('\uFFFD', StringComparison.Ordinal))
        {
            return;
        }
        byte[] raw;
        try
        {
            raw = System.IO.File.ReadAllBytes("/proc/self/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // no /proc: the decoded text is all there is
        }
        try
        {
            StrictUtf8.GetString(raw);
        }
        catch (DecoderFallbackException)
        {
            throw Failure.Usage("The command line is not valid UTF-8 text; nothing was enqueued (give the job as UTF-8).");
        }
    }

    /// <summary>The file as queuectl writes it (indented) must fit the size workers read from pending/.</summary>
    private static void CheckWrittenSize(Job job)
    {
        var bytes = JobJson.Serialize(job).Length;
        if (bytes > JobLimits.MaxFileBytes)
        {
            throw Failure.Usage($"The job's file would be {bytes} bytes; a job file is limited to {JobParser.SizeLimitText}.");
        }
    }

    /// <summary>Lines per durable point (BulkEnqueue): bounds what tmp/ holds staged at once.</summary>
    private const int BatchSize = 10_000;

    /// <summary>Each line is enqueued or refused on its own; the exit code is the worst refusal's.</summary>
    private static int EnqueueLines(QueueHome home, string[] lines, EnqueueOptions options, JobEnvironment environment, Placement placement, CliConsole console)
    {
        var json = options.Json;
        var total = lines.Count(l => l.Trim().Length > 0);
        var progress = options.ShowProgress(console) && total >= 100;
        var batch = new BulkEnqueue(home, console.Clock.UtcNow());
        var settings = ConfigStore.Load(home);
        var added = new List<string>();
        var refused = new List<(int Line, string Error)>();
        var exitCode = 0;
        var done = 0;
        void Commit()
        {
            // One durable point per batch; the ids are printed after the last one.
            var (ok, late) = batch.Commit();
            added.AddRange(ok.Select(a => a.Id));
            foreach (var (line, error) in late)
            {
                refused.Add((line, error.Message));
                exitCode = Math.Max(exitCode, error.ExitCode);
            }
        }
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }
            try
            {
                var job = placement.Apply(Parse(line, environment, settings, console.Clock));
                CheckWrittenSize(job);
                Dependencies.CheckNewJob(home, job, batch.StagedJob); // parents may be earlier lines
                batch.Stage(job, i + 1);
            }
            catch (Failure failure)
            {
                refused.Add((i + 1, failure.Message));
                exitCode = Math.Max(exitCode, failure.ExitCode);
            }
            done++;
            if (batch.Count >= BatchSize)
            {
                Commit();
            }
            if (progress && done % 100 == 0)
            {
                console.Error.Write($"\renqueued {done - refused.Count} of {total} lines…");
            }
        }
        Commit();
        refused.Sort((a, b) => a.Line.CompareTo(b.Line));
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
    private static string CommandToJson(EnqueueOptions options, TimeProvider time)
    {
        if (options.RunAt is not null && options.Delay is not null)
        {
            throw Failure.Usage("Give --run-at or --delay, not both.");
        }
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = PlainJsonEncoder.Instance }))
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
                var delay = Duration.Parse(options.Delay, "--delay"); // at most 100 years: the sum stays a date
                w.WriteString("not_before", UtcTimestamp.ToText(time.UtcNow() + delay));
            }
            if (options.Timeout is not null)
            {
                var timeout = Duration.Parse(options.Timeout, "--timeout");
                if (timeout <= TimeSpan.Zero || timeout.TotalSeconds > JobLimits.MaxTimeoutSeconds)
                {
                    throw Failure.Usage($"--timeout must be greater than 0 and at most {JobLimits.MaxTimeoutText}, not {options.Timeout}.");
                }
                w.WriteNumber("timeout_seconds", timeout.TotalSeconds);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
