using CommandLine;
using QueueCtl.Jobs;
using QueueCtl.Processing;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

[Verb("logs", HelpText = "Print a job's output: the latest attempt, or --attempt N; --follow streams a running job.")]
internal sealed class LogsOptions : CommonOptions
{
    [Value(0, MetaName = "id", Required = true, HelpText = "The job id.")]
    public string Id { get; set; } = "";

    [Option("attempt", MetaValue = "N", HelpText = "Which attempt (1 is the first, counted over the job's whole life; default: the latest).")]
    public int? Attempt { get; set; }

    [Option("follow", HelpText = "Keep printing new output until the attempt ends (waits for a pending job to start).")]
    public bool Follow { get; set; }
}

internal static class LogsCommand
{
    public static int Run(LogsOptions options, CliConsole console)
    {
        if (!JobId.IsValid(options.Id))
        {
            throw Failure.Usage($"Invalid id '{options.Id}': an id is {JobId.Rule}.");
        }
        if (options.Attempt is < 1)
        {
            throw Failure.Usage("--attempt counts from 1.");
        }
        var home = options.ResolveHome();
        var store = new JobStore(home);
        var stored = store.Locate(options.Id);
        var attempts = CommandRunner.Attempts(home, stored, options.Id);
        if (attempts.Count == 0 && stored is null)
        {
            throw Failure.Operation($"No job with id '{options.Id}'.");
        }

        if (options.Follow)
        {
            return Follow(home, store, options.Id, options.Attempt, console);
        }
        if (attempts.Count == 0)
        {
            console.Error.WriteLine($"Job '{options.Id}' has no output yet: it has not run.");
            return 0;
        }
        var attempt = options.Attempt ?? attempts.Max();
        if (!attempts.Contains(attempt))
        {
            throw Failure.Operation($"Job '{options.Id}' has no attempt {attempt}; it has {Describe(attempts)}.");
        }
        var path = CommandRunner.LogPath(home, options.Id, attempt);
        var lost = stored?.Job?.History?.FirstOrDefault(a => a.Number == attempt)?.OutputLost;
        if (!File.Exists(path))
        {
            console.Error.WriteLine(lost is null
                ? $"Attempt {attempt} of job '{options.Id}' printed nothing."
                : $"Attempt {attempt} of job '{options.Id}' lost its output: {lost}.");
            return lost is null ? 0 : Failure.OperationFailed;
        }
        using (var file = Open(path))
        {
            Copy(file, console.Out);
        }
        if (lost is not null)
        {
            console.Error.WriteLine($"queuectl: attempt {attempt} of job '{options.Id}' lost part of its output: {lost}.");
            return Failure.OperationFailed;
        }
        return 0;
    }

    /// <summary>Streams one attempt's log while it grows; returns when that attempt has ended.</summary>
    private static int Follow(QueueHome home, JobStore store, string id, int? wanted, CliConsole console)
    {
        // Which attempt: the one asked for, else the running one, else the next one to run, else the latest.
        var job = store.Locate(id);
        var attempt = wanted ?? (job?.Job is { } j ? j.NextAttemptNumber - (job.State == JobState.Completed || job.State == JobState.Dead ? 1 : 0) : 1);
        attempt = Math.Max(1, attempt);
        var path = CommandRunner.LogPath(home, id, attempt);
        StreamReader? file = null;
        try
        {
            while (true)
            {
                if (file is null && File.Exists(path))
                {
                    file = Open(path);
                }
                if (file is not null)
                {
                    Copy(file, console.Out);
                }
                if (AttemptEnded(store, id, attempt))
                {
                    if (file is null && File.Exists(path))
                    {
                        file = Open(path);
                    }
                    if (file is not null)
                    {
                        Copy(file, console.Out);
                    }
                    return 0;
                }
                console.Clock.Sleep(Timing.LogsFollowPoll);
            }
        }
        finally
        {
            file?.Dispose();
        }
    }

    /// <summary>An attempt has ended once the job's history holds it, or the job is gone.</summary>
    private static bool AttemptEnded(JobStore store, string id, int attempt)
    {
        var stored = store.Locate(id);
        return stored?.Job is not { } job || job.NextAttemptNumber > attempt;
    }

    /// <summary>A reader that keeps its place and its UTF-8 decoder state, so a growing file can be read again and again.</summary>
    private static StreamReader Open(string path) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete), new System.Text.UTF8Encoding(false), false);

    private static void Copy(StreamReader from, TextWriter to)
    {
        var text = from.ReadToEnd();
        if (text.Length > 0)
        {
            to.Write(text);
            to.Flush();
        }
    }

    private static string Describe(List<int> attempts) =>
        attempts.Count == 1 ? "attempt 1 only" : $"attempts {attempts.Min()} to {attempts.Max()}";
}
