using CommandLine;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

[Verb("show", HelpText = "Print one job's file, wherever it is.")]
internal sealed class ShowOptions : DataOptions
{
    [Value(0, MetaName = "id", Required = true, HelpText = "The job id.")]
    public string Id { get; set; } = "";
}

internal static class ShowCommand
{
    public static int Run(ShowOptions options, CliConsole console)
    {
        if (!JobId.IsValid(options.Id))
        {
            throw Failure.Usage($"Invalid id '{options.Id}': an id is {JobId.Rule}.");
        }
        var stored = new JobStore(options.ResolveHome()).Locate(options.Id)
            ?? throw Failure.Operation($"No job with id '{options.Id}'.");
        // The file is already JSON, so --json and plain output are the same: the file as it is on disk.
        string text;
        try
        {
            text = SharedFile.ReadAllText(stored.Path);
        }
        catch (FileNotFoundException)
        {
            // RACE: it moved between locating and reading; look once more.
            stored = new JobStore(options.ResolveHome()).Locate(options.Id)
                ?? throw Failure.Operation($"No job with id '{options.Id}'.");
            text = SharedFile.ReadAllText(stored.Path);
        }
        console.Out.Write(text.EndsWith('\n') ? text : text + "\n");
        return 0;
    }
}
