using System.Text.Json.Serialization;

namespace QueueCtl.Config;

/// <summary>config.json: the queue's settings. Durations are stored in seconds.</summary>
internal sealed record Settings
{
    [JsonPropertyName("max_retries")] public int MaxRetries { get; init; } = 3;
    [JsonPropertyName("backoff_base")] public double BackoffBase { get; init; } = 2;
    [JsonPropertyName("backoff_max")] public double BackoffMaxSeconds { get; init; } = 3600;
    /// <summary>0 means no default timeout.</summary>
    [JsonPropertyName("job_timeout")] public double JobTimeoutSeconds { get; init; }
    [JsonPropertyName("worker_lease")] public double WorkerLeaseSeconds { get; init; } = 30;
    /// <summary>Cap of one attempt's log file; output past it is counted, not written.</summary>
    [JsonPropertyName("log_max_size")] public long LogMaxBytes { get; init; } = 10 * 1024 * 1024;
    /// <summary>Workers delete completed jobs (and their logs) finished longer ago than this; 0 keeps them.</summary>
    [JsonPropertyName("completed_retention")] public double CompletedRetentionSeconds { get; init; } = 7 * 86400;
    /// <summary>The same for dead jobs: longer, since they wait for a person.</summary>
    [JsonPropertyName("dead_retention")] public double DeadRetentionSeconds { get; init; } = 30 * 86400;
    /// <summary>Past this size workers/&lt;id&gt;.log is renamed to .log.1 (replacing the previous one) and begun again.</summary>
    [JsonPropertyName("worker_log_max_size")] public long WorkerLogMaxBytes { get; init; } = 10 * 1024 * 1024;
    /// <summary>`queue.Q.concurrency`: at most this many jobs of queue Q run at once (QueueSlots); absent: no limit.</summary>
    [JsonPropertyName("queue_concurrency")] public Dictionary<string, int>? QueueConcurrency { get; init; }
    /// <summary>A shell command run after each job completes or goes dead (FinishHooks); null: none.</summary>
    [JsonPropertyName("on_finish")] public string? OnFinish { get; init; }
    /// <summary>How long a finish hook may run before it is killed.</summary>
    [JsonPropertyName("on_finish_timeout")] public double OnFinishTimeoutSeconds { get; init; } = 60;

    /// <summary>The concurrency limit of a queue, or null when it has none.</summary>
    public int? LimitOf(string queue) => QueueConcurrency is { } limits && limits.TryGetValue(queue, out var limit) ? limit : null;
}
