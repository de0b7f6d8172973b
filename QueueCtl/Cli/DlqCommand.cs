using System.Text.Json;
using CommandLine;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

[Verb("dlq", HelpText = "The dead letter queue: dlq list | dlq retry ID | dlq retry --all.")]
internal sealed class DlqOptions : DataOptions
{
    [Value(0, MetaName = "action", Required = true, HelpText = "list or retry.")]
    public string Action { get; set; } = "";

    [Value(1, MetaName = "id", HelpText = "retry: the dead job to send back to pending.")]
    public string? Id { get; set; }

    [Option("all", HelpText = "retry: every dead job.")]
    public bool All { get; set; }
}

internal static class DlqCommand
{
    public static int Run(DlqOptions options, CliConsole console) => options.Action switch
    {
        "list" => List(options, console),
        "retry" => Retry(options, console),
        _ => throw Failure.Usage($"Unknown dlq action '{options.Action}'; use list or retry."),
    };

    private static int List(DlqOptions options, CliConsole console)
    {
        if (options.Id is not null || options.All)
        {
            throw Failure.Usage("Usage: queuectl dlq list.");
        }
        var jobs = new JobStore(options.ResolveHome()).ReadAll(JobState.Dead)
            .Where(s => s.Job is not null)
            .Select(s => s.Job!)
            .OrderBy(j => j.FinishedAt ?? j.UpdatedAt)
            .ToList();
        if (options.Json)
        {
            Output.Json(console.Out, w =>
            {
                w.WriteStartArray();
                jobs.ForEach(j => JsonSerializer.Serialize(w, j, JobJson.Default.Job));
                w.WriteEndArray();
            });
            return 0;
        }
        if (jobs.Count == 0)
        {
            console.Out.WriteLine("The dead letter queue is empty.");
            return 0;
        }
        var now = console.Clock.UtcNow();
        var rows = new List<string[]> { new[] { "ID", "ATTEMPTS", "DIED", "LAST ERROR", "COMMAND" } };
        rows.AddRange(jobs.Select(j => new[]
        {
            j.Id, Output.Number(j.Attempts), Output.Relative(j.FinishedAt ?? j.UpdatedAt, now),
            Output.Shorten(j.LastError ?? "-", 50), Output.Shorten(j.Command, 40),
        }));
        Output.Table(console.Out, rows);
        return 0;
    }

    private static int Retry(DlqOptions options, CliConsole console)
    {
        if (options.All == (options.Id is not null))
        {
            throw Failure.Usage("Give one dead job's id, or --all.");
        }
        if (options.Id is not null && !JobId.IsValid(options.Id))
        {
            throw Failure.Usage($"Invalid id '{options.Id}': an id is {JobId.Rule}.");
        }
        var home = options.ResolveHome();
        var store = new JobStore(home);
        if (options.Id is not null)
        {
            if (!DeadLetterQueue.Revive(home, options.Id, console.Clock.UtcNow()))
            {
                var where = store.Locate(options.Id);
                throw Failure.Operation(where is null
                    ? $"No job '{options.Id}' in the dead letter queue."
                    : $"Job '{options.Id}' is {where.State}, not dead.");
            }
            if (options.Json)
            {
                Output.Json(console.Out, w =>
                {
                    w.WriteStartArray();
                    w.WriteStringValue(options.Id);
                    w.WriteEndArray();
                });
            }
            else
            {
                console.Out.WriteLine($"{options.Id} is pending again (attempts reset, history kept).");
            }
            return 0;
        }
        return RetryAll(home, store, options, console);
    }

    /// <summary>
    /// Every dead job, one at a time; each retried one is named as it goes. A job that left dead/
    /// meanwhile was taken by another caller (a second `dlq retry --all`, the dashboard): that is
    /// not an error. A job that cannot be retried (its id is pending as another job, a corrupt
    /// file) is reported and skipped; the exit code is then 1, after every other job was tried.
    /// </summary>
    private static int RetryAll(QueueHome home, JobStore store, DlqOptions options, CliConsole console)
    {
        var ids = store.Files(JobState.Dead).Select(Path.GetFileNameWithoutExtension).OfType<string>().ToList();
        var retried = new List<string>();
        var taken = 0;
        var failed = 0;
        foreach (var id in ids)
        {
            try
            {
                if (DeadLetterQueue.Revive(home, id, console.Clock.UtcNow()))
                {
                    retried.Add(id);
                    if (!options.Json)
                    {
                        console.Out.WriteLine($"{id}: pending again");
                    }
                }
                else
                {
                    taken++;
                }
            }
            catch (Failure failure)
            {
                failed++;
                console.Error.WriteLine($"queuectl: {id} was not retried: {failure.Message}");
            }
        }
        if (options.Json)
        {
            Output.Json(console.Out, w =>
            {
                w.WriteStartArray();
                retried.ForEach(w.WriteStringValue);
                w.WriteEndArray();
            });
        }
        else
        {
            var summary = $"{retried.Count} dead job{(retried.Count == 1 ? "" : "s")} pending again (attempts reset, history kept)";
            summary += taken > 0 ? $"; {taken} taken by another caller meanwhile" : "";
            summary += failed > 0 ? $"; {failed} not retried (see above)" : "";
            console.Out.WriteLine(summary + ".");
        }
        return failed > 0 ? Failure.OperationFailed : 0;
    }
}
