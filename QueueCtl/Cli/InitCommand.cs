using CommandLine;

namespace QueueCtl.Cli;

[Verb("init", HelpText = "Create the queue home, its folders and missing parents (safe to repeat).")]
internal sealed class InitOptions : CommonOptions
{
}

internal static class InitCommand
{
    public static int Run(InitOptions options, CliConsole console)
    {
        var home = options.ResolveHomeCreatedOnFirstUse();
        // Only init makes missing parents (umask modes, as mkdir -p); enqueue and worker start refuse
        // them, so a mistyped --home there does not grow a tree of folders.
        Directory.CreateDirectory(Path.GetDirectoryName(home.Root) ?? home.Root);
        home.EnsureCreated();
        console.Out.WriteLine($"Queue home ready at {home.Root}");
        return 0;
    }
}
