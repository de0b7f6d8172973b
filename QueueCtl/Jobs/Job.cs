using System.Text.Json;
using System.Text.Json.Serialization;

namespace QueueCtl.Jobs;

/// <summary>
/// One job file. Property order here is the order of keys on disk; optional keys are
/// omitted while null, so `cat` shows only what applies.
/// </summary>
internal sealed record Job
{
    [JsonPropertyName("id")] public required string Id { get; init; }

    /// <summary>
    /// The named queue; absent (null) is <see cref="DefaultQueue"/>, which is never written. Right
    /// after the id, so the first few hundred bytes of a file name its queue (Storage/JobPrefix).
    /// </summary>
    [JsonPropertyName("queue")] public string? Queue { get; init; }

    /// <summary>
    /// `enqueue --after`: the ids of the jobs that must complete before this one runs; absent when
    /// none. Near the top too, so `status` finds it in a file's first bytes.
    /// </summary>
    [JsonPropertyName("after")] public List<string>? After { get; init; }

    /// <summary>`enqueue --on-finish`: a shell command run after this job completes or goes dead (FinishHooks).</summary>
    [JsonPropertyName("on_finish")] public string? OnFinish { get; init; }

    /// <summary>Free labels (each follows the id rules), for `list --label`; absent when none.</summary>
    [JsonPropertyName("labels")] public List<string>? Labels { get; init; }
    [JsonPropertyName("command")] public required string Command { get; init; }
    [JsonPropertyName("state")] public required string State { get; init; }
    [JsonPropertyName("attempts")] public int Attempts { get; init; }
    [JsonPropertyName("max_retries")] public int MaxRetries { get; init; }
    [JsonPropertyName("created_at")] public DateTime CreatedAt { get; init; }
    [JsonPropertyName("updated_at")] public DateTime UpdatedAt { get; init; }
    [JsonPropertyName("priority")] public int? Priority { get; init; }
    [JsonPropertyName("not_before")] public DateTime? NotBefore { get; init; }
    [JsonPropertyName("timeout_seconds")] public double? TimeoutSeconds { get; init; }
    [JsonPropertyName("cwd")] public string? Cwd { get; init; }
    [JsonPropertyName("env")] public Dictionary<string, string>? Env { get; init; }
    [JsonPropertyName("worker_id")] public string? WorkerId { get; init; }
    [JsonPropertyName("started_at")] public DateTime? StartedAt { get; init; }
    [JsonPropertyName("finished_at")] public DateTime? FinishedAt { get; init; }
    [JsonPropertyName("exit_code")] public int? ExitCode { get; init; }
    [JsonPropertyName("last_error")] public string? LastError { get; init; }
    [JsonPropertyName("history")] public List<Attempt>? History { get; init; }
    [JsonPropertyName("meta")] public JsonElement? Meta { get; init; }

    /// <summary>The queue of a job whose file names none.</summary>
    public const string DefaultQueue = "default";

    [JsonIgnore] public int EffectivePriority => Priority ?? 0;

    /// <summary>The job's queue: its "queue" field, else <see cref="DefaultQueue"/>.</summary>
    [JsonIgnore] public string QueueName => Queue ?? DefaultQueue;

    /// <summary>
    /// The number of the next attempt over the job's whole life: history entries + 1. Unlike
    /// `attempts` it is not reset by `dlq retry`, so log files and history entries never repeat.
    /// </summary>
    [JsonIgnore] public int NextAttemptNumber => (History?.Count ?? 0) + 1;
}

/// <summary>One finished attempt, appended to <see cref="Job.History"/>.</summary>
internal sealed record Attempt
{
    [JsonPropertyName("attempt")] public int Number { get; init; }
    [JsonPropertyName("worker")] public string? Worker { get; init; }
    [JsonPropertyName("started_at")] public DateTime StartedAt { get; init; }
    [JsonPropertyName("finished_at")] public DateTime FinishedAt { get; init; }
    [JsonPropertyName("duration_seconds")] public double DurationSeconds { get; init; }
    [JsonPropertyName("exit_code")] public int? ExitCode { get; init; }
    [JsonPropertyName("outcome")] public string? Outcome { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }

    /// <summary>Set when some of this attempt's output could not be written to its log: how much, and why (a full disk).</summary>
    [JsonPropertyName("output_lost")] public string? OutputLost { get; init; }

    /// <summary>
    /// Set when this attempt's worker finished it after recovery had taken the job back (the
    /// worker's lease ran out, e.g. while it was cut off from a shared file system): what that
    /// attempt really did. It was not counted again.
    /// </summary>
    [JsonPropertyName("late_finish")] public LateFinish? LateFinish { get; init; }
}

/// <summary>The real end of an attempt that had been taken back from its worker (fencing).</summary>
internal sealed record LateFinish
{
    [JsonPropertyName("worker")] public required string Worker { get; init; }
    [JsonPropertyName("finished_at")] public DateTime FinishedAt { get; init; }
    [JsonPropertyName("exit_code")] public int? ExitCode { get; init; }
    [JsonPropertyName("note")] public string? Note { get; init; }
}
