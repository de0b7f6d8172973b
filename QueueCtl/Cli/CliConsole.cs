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

    /// <summary>Whether Out is a terminal (a person: one screenful); false for a test's writer.</summary>
    public bool OutIsTerminal { get; init; }

    /// <summary>Every "now" and every wait of a command, and of the workers and dashboard it starts.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>The process's own streams (<see cref="StandardStream"/>); In is a reader over fd 0, opened but not read.</summary>
    public static CliConsole System => new(StandardStream.Writer(1), StandardStream.Writer(2),
        new StreamReader(new StandardStream(0), new global::System.Text.UTF8Encoding(false), false))
    {
        ErrorIsTerminal = !global::System.Console.IsErrorRedirected,
        OutIsTerminal = !global::System.Console.IsOutputRedirected,
    };
}
