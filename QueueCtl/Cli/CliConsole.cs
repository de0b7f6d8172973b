namespace QueueCtl.Cli;

/// <summary>
/// The streams a command talks to; tests pass their own, Program passes the process's. Commands
/// write only here, never to System.Console, so that tests can run them in parallel in one process.
/// </summary>
internal sealed record CliConsole(TextWriter Out, TextWriter Error, TextReader In)
{
    /// <summary>Whether Error is a terminal (progress is for people); false for a test's writer.</summary>
    public bool ErrorIsTerminal { get; init; }

    public static CliConsole System => new(global::System.Console.Out, global::System.Console.Error, global::System.Console.In)
    {
        ErrorIsTerminal = !global::System.Console.IsErrorRedirected,
    };
}
