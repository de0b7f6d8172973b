using CommandLine;
using QueueCtl.Jobs;
using QueueCtl.Processing;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

[Verb("pause", HelpText = "Workers take no new job (from every queue, or from --queue Q); running jobs finish. Lasts until resume, across restarts.")]
internal sealed class PauseOptions : DataOptions
{
    [Option("queue", MetaValue = "Q", HelpText = "Pause only queue Q (the default queue is 'default').")]
    public string? Queue { get; set; }
}

[Verb("resume", HelpText = "Undo pause: workers take jobs again (every queue, or --queue Q).")]
internal sealed class ResumeOptions : DataOptions
{
    [Option("queue", MetaValue = "Q", HelpText = "Resume only queue Q (a queue paused by name needs its own resume).")]
    public string? Queue { get; set; }
}

/// <summary>`pause` and `resume`: turn a pause switch (a file under the home, see <see cref="PauseState"/>) on or off.</summary>
internal static class PauseCommand
{
    public static int Pause(PauseOptions options, CliConsole console)
    {
        var home = Home(options, options.Queue);
        var changed = PauseState.Pause(home, options.Queue, console.Clock.UtcNow());
        var what = Describe(options.Queue);
        Report(options, console, options.Queue, paused: true, changed, changed
            ? $"Paused {what}: workers take no new job; running jobs finish. Undo with 'queuectl resume{QueueFlag(options.Queue)}'."
            : $"{Capitalized(what)} {(options.Queue is null ? "were" : "was")} already paused.");
        return 0;
    }

    public static int Resume(ResumeOptions options, CliConsole console)
    {
        var home = Home(options, options.Queue);
        var changed = PauseState.Resume(home, options.Queue);
        var what = Describe(options.Queue);
        var message = changed ? $"Resumed {what}: workers take jobs again." : $"{Capitalized(what)} {(options.Queue is null ? "were" : "was")} not paused.";
        var stillPaused = PauseState.Read(home).Select(s => s.Queue is null ? "every queue (queuectl resume)" : $"queue {s.Queue} (queuectl resume --queue {s.Queue})").ToList();
        if (stillPaused.Count > 0)
        {
            message += $" Still paused: {string.Join(", ", stillPaused)}.";
        }
        Report(options, console, options.Queue, paused: false, changed, message);
        return 0;
    }

    /// <summary>Checks the request before anything is written: a valid queue name, an existing home.</summary>
    private static QueueHome Home(DataOptions options, string? queue)
    {
        if (queue is not null && !PauseState.IsValidQueue(queue))
        {
            throw Failure.Usage($"Invalid queue name '{queue}': {JobId.Rule}.");
        }
        var home = options.ResolveHome();
        if (!home.Exists)
        {
            throw Failure.Operation($"There is no queue home at '{home.Root}'; create it with 'queuectl init'.");
        }
        home.EnsureCreated();
        return home;
    }

    private static void Report(DataOptions options, CliConsole console, string? queue, bool paused, bool changed, string message)
    {
        if (options.Json)
        {
            Output.Json(console.Out, w =>
            {
                w.WriteStartObject();
                w.WriteString("queue", queue);
                w.WriteBoolean("paused", paused);
                w.WriteBoolean("changed", changed);
                w.WriteEndObject();
            });
        }
        else if (!options.Quiet)
        {
            console.Out.WriteLine(message);
        }
    }

    private static string Describe(string? queue) => queue is null ? "all queues" : $"queue {queue}";

    private static string Capitalized(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    private static string QueueFlag(string? queue) => queue is null ? "" : $" --queue {queue}";
}
