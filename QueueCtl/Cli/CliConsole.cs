namespace QueueCtl.Cli;

/// <summary>
/// What a command talks to: the streams and the clock. Tests pass their own (a fake
/// <see cref="TimeProvider"/> with <c>with { Clock = … }</c>); Program passes the process's.
/// </summary>
internal sealed record CliConsole(TextWriter Out, TextWriter Error, TextReader In)
{
    public static CliConsole System => new(global::System.Console.Out, global::System.Console.Error, global::System.Console.In);

    /// <summary>Every "now" and every wait of a command, and of the workers and dashboard it starts.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
