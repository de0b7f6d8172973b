using CommandLine;
using QueueCtl.Processing;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

[Verb("recover", HelpText = "Return the jobs of dead workers now (live workers also do this on their own).")]
internal sealed class RecoverOptions : DataOptions
{
}

internal static class RecoverCommand
{
    public static int Run(RecoverOptions options, CliConsole console)
    {
        var home = options.ResolveHome();
        var recovered = WorkerRecovery.RecoverDeadWorkers(home, ConfigStore.Load(home), selfId: null, console.Clock);
        var stale = StaleFiles.Clean(home, console.Clock.UtcNow());
        FinishHooks.RunAndWait(home, recovered.Select(r => r.Final).OfType<Jobs.Job>().ToList(), line => console.Error.WriteLine($"queuectl: {line}"), console.Clock);
        if (options.Json)
        {
            Output.Json(console.Out, w =>
            {
                w.WriteStartArray();
                foreach (var job in recovered)
                {
                    w.WriteStartObject();
                    w.WriteString("id", job.JobId);
                    w.WriteString("worker", job.FromWorker);
                    w.WriteString("state", job.State);
                    w.WriteString("reason", job.Reason);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            return 0;
        }
        foreach (var job in recovered)
        {
            console.Out.WriteLine($"{job.JobId}: {job.State} ({job.Reason})");
        }
        if (stale > 0)
        {
            console.Out.WriteLine($"Removed {stale} stale entr{(stale == 1 ? "y" : "ies")} from tmp/ (failed writes, workers that died at start).");
        }
        console.Out.WriteLine(recovered.Count == 0 ? "Nothing to recover." : $"Recovered {recovered.Count} job{(recovered.Count == 1 ? "" : "s")}.");
        return 0;
    }
}
