using QueueCtl.Jobs;
using QueueCtl.Protocol;

namespace QueueCtl.Cli;

[CommandLine.Verb("retry", HelpText = "Send finished jobs (completed or dead) back to pending: attempts reset, history kept.")]
internal sealed class RetryOptions : DataOptions
{
    [CommandLine.Value(0, MetaName = "id", Required = true, HelpText = "The finished jobs to run again.")]
    public IEnumerable<string> Ids { get; set; } = [];
}

/// <summary>The same transition as `dlq retry` (<see cref="DeadLetterQueue.Revive"/>), from completed/ as well.</summary>
internal static class RetryCommand
{
    public static int Run(RetryOptions options, CliConsole console)
    {
        var ids = ControlIds.Validate(options.Ids);
        var home = options.ResolveHome();
        var store = new JobStore(home);
        var retried = new List<string>();
        var failed = false;
        foreach (var id in ids)
        {
            var refusal = ControlIds.Retry(store, id, console.Clock, stored =>
                stored.State is JobState.Completed or JobState.Dead
                    ? (DeadLetterQueue.Revive(home, id, console.Clock.UtcNow(), stored.State), null)
                    : (true, $"Job '{id}' is {stored.State}, not finished; only a completed or dead job can be retried."));
            if (refusal is null)
            {
                retried.Add(id);
                if (!options.Json)
                {
                    console.Out.WriteLine($"{id} is pending again (attempts reset, history kept)");
                }
            }
            else
            {
                console.Error.WriteLine($"queuectl: {refusal}");
                failed = true;
            }
        }
        ControlIds.PrintJson(options, console, retried);
        return failed ? Failure.OperationFailed : 0;
    }
}
