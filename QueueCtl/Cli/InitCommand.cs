using CommandLine;

namespace QueueCtl.Cli;

[Verb("init", HelpText = "Create the queue home and its folders (safe to repeat).")]
internal sealed class InitOptions : CommonOptions
{
}

internal static class InitCommand
{
    public static int Run(InitOptions options, CliConsole console)
    {
        var home = options.ResolveHome();
        home.EnsureCreated();
        console.Out.WriteLine($"Queue home ready at {home.Root}");
        return 0;
    }
}
