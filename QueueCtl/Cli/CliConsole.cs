namespace QueueCtl.Cli;

/// <summary>
/// What a command talks to: the streams and the clock. Tests pass their own (string writers, a fake
/// <see cref="TimeProvider"/> with <c>with { Clock = … }</c>); Program passes the process's. Commands
/// write only here, never to System.Console, so that tests can run them in parallel in one process.
/// </summary>
internal sealed record CliConsole(TextWriter Out, TextWriter Error, TextReader In)
{
    /// <summary>Whether Error is a terminal (progress is for people); false for a test's writer.</summary>
    public bool ErrorIsTerminal { get; init; }

    /// <summary>Every "now" and every wait of a command, and of the workers and dashboard it starts.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    public static CliConsole System => new(global::System.Console.Out, global::System.Console.Error, global::System.Console.In)
    {
        ErrorIsTerminal = !global::System.Console.IsErrorRedirected,
    };
}
