using CommandLine;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

/// <summary>Options every verb takes.</summary>
internal abstract class CommonOptions
{
    [Option("home", MetaValue = "DIR", HelpText = "Queue home (default: $QUEUECTL_HOME, else ~/.queuectl).")]
    public string? Home { get; set; }

    /// <summary>The home of this command; an existing home that others can write to is refused (see QueueHome.RefuseIfUnsafe).</summary>
    public QueueHome ResolveHome()
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
    public bool ShowProgress => !Quiet && !Json && !Console.IsErrorRedirected;
}
