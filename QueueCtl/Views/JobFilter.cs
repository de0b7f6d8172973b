using QueueCtl.Jobs;
using QueueCtl.Protocol;

namespace QueueCtl.Views;

/// <summary>
/// The filters of `list` and the dashboard's /api/jobs, combined with AND: a queue, labels (every
/// one must be on the job), and a case-insensitive substring of the id or the command. A file
/// that does not parse matches only filters on its id.
/// </summary>
internal sealed record JobFilter(string? Queue, IReadOnlyList<string> Labels, string? Grep)
{
    /// <summary>Checks the names (id rules; <paramref name="source"/> prefixes option names, "--" or ""); exit 2 on a bad one.</summary>
    public static JobFilter Create(string? queue, IEnumerable<string> labels, string? grep, string source = "--")
    {
        if (queue is not null && !JobId.IsValid(queue))
        {
            throw Failure.Usage($"Invalid queue name '{queue}' in {source}queue: a queue name is {JobId.Rule}.");
        }
        var wanted = labels.ToList();
        foreach (var label in wanted.Where(l => !JobId.IsValid(l)))
        {
            throw Failure.Usage($"Invalid label '{label}' in {source}label: a label is {JobId.Rule}.");
        }
        return new JobFilter(queue, wanted, string.IsNullOrEmpty(grep) ? null : grep);
    }

    /// <summary>Every job.</summary>
    public static readonly JobFilter None = new(null, [], null);

    public bool IsEmpty => Queue is null && Labels.Count == 0 && Grep is null;

    public bool Matches(StoredJob stored)
    {
        var job = stored.Job;
        if (Queue is not null && (job is null || job.QueueName != Queue))
        {
            return false;
        }
        if (Labels.Count > 0 && (job?.Labels is not { } labels || !Labels.All(l => labels.Contains(l, StringComparer.Ordinal))))
        {
            return false;
        }
        return Grep is null
            || stored.Id.Contains(Grep, StringComparison.OrdinalIgnoreCase)
            || job is not null && job.Command.Contains(Grep, StringComparison.OrdinalIgnoreCase);
    }
}
