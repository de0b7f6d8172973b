using System.Text.Json.Serialization;

namespace QueueCtl.Processing;

/// <summary>workers/&lt;id&gt;.json: one per live worker, rewritten at every heartbeat.</summary>
internal sealed record WorkerRecord
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("pid")] public int Pid { get; init; }
    [JsonPropertyName("host")] public required string Host { get; init; }
    [JsonPropertyName("started_at")] public DateTime StartedAt { get; init; }
    /// <summary>idle, busy or stopping.</summary>
    [JsonPropertyName("state")] public required string State { get; init; }
    [JsonPropertyName("current_job")] public string? CurrentJob { get; init; }
    /// <summary>The queues this worker takes jobs from (`worker start --queue`); absent for every queue.</summary>
    [JsonPropertyName("queues")] public List<string>? Queues { get; init; }
    [JsonPropertyName("heartbeat_at")] public DateTime HeartbeatAt { get; init; }
}
