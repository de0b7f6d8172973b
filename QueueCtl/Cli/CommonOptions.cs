using CommandLine;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

/// <summary>Options every verb takes.</summary>
internal abstract class CommonOptions
{
    [Option("home", MetaValue = "DIR", HelpText = "Queue home (default: $QUEUECTL_HOME, else ~/.queuectl).")]
    public string? Home { get; set; }

    /// <summary>
    /// The home of a command that reads or changes what is there: one that does not exist is
    /// refused in one sentence (a mistyped --home must not look like an empty queue) and is not created.
    /// </summary>
    public QueueHome ResolveHome()
    {
        var home = QueueHome.Resolve(Home);
        if (!home.Exists)
        {
            if (File.Exists(home.Root))
            {
                throw Failure.Operation($"The queue home {home.Root} is a file, not a folder.");
            }
            var option = Home is null ? "" : $" --home {ArgumentConventions.ShellQuote(home.Root)}";
            throw Failure.Operation(
                $"The queue home {home.Root} does not exist; create it with `queuectl init{option}` (enqueue and worker start also create it).");
        }
        home.RefuseIfUnsafe();
        return home;
    }

    /// <summary>
    /// The home of a command that creates it on first use (init, enqueue, worker start, config set,
    /// dashboard): an existing one must be safe (QueueHome.RefuseIfUnsafe); the command calls
    /// EnsureCreated once the request is accepted.
    /// </summary>
    public QueueHome ResolveHomeCreatedOnFirstUse()
    {
        var home = QueueHome.Resolve(Home);
        home.RefuseIfUnsafe();
        return home;
    }
}

/// <summary>Options of verbs that print data.</summary>
internal abstract class DataOptions : CommonOptions
{
    [Option("json", HelpText = "Print machine-readable JSON.")]
    public bool Json { get; set; }

    [Option("quiet", HelpText = "No progress or notes on stderr (errors still go there).")]
    public bool Quiet { get; set; }

    /// <summary>Progress is for people: only on a terminal, and never with --quiet or --json.</summary>
    public bool ShowProgress(CliConsole console) => !Quiet && !Json && console.ErrorIsTerminal;
}
