namespace QueueCtl.Cli;

/// <summary>The streams a command talks to; tests pass their own, Program passes the process's.</summary>
internal sealed record CliConsole(TextWriter Out, TextWriter Error, TextReader In)
{
    public static CliConsole System => new(global::System.Console.Out, global::System.Console.Error, global::System.Console.In);
}
