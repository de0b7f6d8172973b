using QueueCtl.Jobs;
using QueueCtl.Protocol;

namespace QueueCtl.Cli;

[CommandLine.Verb("remove", HelpText = "Delete jobs that are not running, and their logs.")]
internal sealed class RemoveOptions : DataOptions
{
    [CommandLine.Value(0, MetaName = "id", Required = true, HelpText = "The jobs to delete.")]
    public IEnumerable<string> Ids { get; set; } = [];
}

internal static class RemoveCommand
{
    public static int Run(RemoveOptions options, CliConsole console)
    {
        var ids = ControlIds.Validate(options.Ids);
        var home = options.ResolveHome();
        var store = new JobStore(home);
        var removed = new List<string>();
        var failed = false;
        foreach (var id in ids)
        {
            var refusal = ControlIds.Retry(store, id, console.Clock, stored =>
            {
                if (stored.State == JobState.Processing)
                {
                    return (true, $"Job '{id}' is running (on worker {Path.GetFileName(Path.GetDirectoryName(stored.Path))}); cancel it first.");
                }
                return JobControl.Remove(home, stored) == TakeOutcome.Done ? (true, null) : (false, null);
            });
            if (refusal is null)
            {
                removed.Add(id);
                if (!options.Json)
                {
                    console.Out.WriteLine($"{id} removed");
                }
            }
            else
            {
                console.Error.WriteLine($"queuectl: {refusal}");
                failed = true;
            }
        }
        ControlIds.PrintJson(options, console, removed);
        return failed ? Failure.OperationFailed : 0;
    }
}

/// <summary>What cancel, remove and retry share: id checks, the look-again loop, --json output.</summary>
internal static class ControlIds
{
    /// <summary>How often a job that moves away at the moment it is taken is looked for again.</summary>
    private const int Looks = 50;

    /// <summary>Every id must be valid before anything changes (a refused request changes nothing).</summary>
    public static List<string> Validate(IEnumerable<string> ids)
    {
        var list = ids.Distinct(StringComparer.Ordinal).ToList();
        if (list.Count == 0)
        {
            throw Failure.Usage("Give at least one job id.");
        }
        foreach (var id in list.Where(i => !JobId.IsValid(i)))
        {
            throw Failure.Usage($"Invalid id '{id}': an id is {JobId.Rule}.");
        }
        return list;
    }

    /// <summary>
    /// Locates the job and applies <paramref name="act"/>, which says whether it is done (with a
    /// refusal, or null for success) or the job moved meanwhile and must be looked for again.
    /// Returns the refusal sentence, or null on success.
    /// </summary>
    public static string? Retry(JobStore store, string id, TimeProvider time, Func<StoredJob, (bool Done, string? Refusal)> act)
    {
        for (var look = 0; look < Looks; look++)
        {
            var stored = store.Locate(id) ?? store.Locate(id); // twice: failed/ → processing/ can slip between two looks
            if (stored is null)
            {
                return $"No job with id '{id}'.";
            }
            try
            {
                var (done, refusal) = act(stored);
                if (done)
                {
                    return refusal;
                }
            }
            catch (Failure failure)
            {
                return failure.Message;
            }
            time.Sleep(Timing.LookAgainStep * Math.Min(look + 1, 10)); // RACE: it moved (a claim, a recovery): look again shortly
        }
        return $"Job '{id}' kept moving; try again.";
    }

    public static void PrintJson(DataOptions options, CliConsole console, List<string> ids)
    {
        if (!options.Json)
        {
            return;
        }
        Output.Json(console.Out, w =>
        {
            w.WriteStartArray();
            ids.ForEach(w.WriteStringValue);
            w.WriteEndArray();
        });
    }
}
