using System.Globalization;
using QueueCtl.Jobs;

namespace QueueCtl.Config;

/// <summary>
/// One key of `config set|get|list`: its names, what it accepts, how it reads and writes Settings,
/// and the range a value read from config.json must be in (a hand-edited file can hold anything).
/// </summary>
internal sealed record SettingKey(
    string Name,
    string Description,
    Func<string, Settings, Settings> Apply,
    Func<Settings, string> Show,
    Func<Settings, bool> InRange,
    Func<Settings, Settings, Settings> TakeDefault)
{
    public string SnakeName => Name.Replace('-', '_');
}

/// <summary>The settings table: every key's validation in one place.</summary>
internal static class SettingKeys
{
    public static readonly IReadOnlyList<SettingKey> All =
    [
        new("max-retries", $"retries after the first attempt for new jobs (0-{JobLimits.MaxRetries})",
            (v, s) => s with { MaxRetries = (int)Number(v, "max-retries", 0, JobLimits.MaxRetries, integer: true) },
            s => s.MaxRetries.ToString(CultureInfo.InvariantCulture),
            s => s.MaxRetries is >= 0 and <= JobLimits.MaxRetries,
            (s, d) => s with { MaxRetries = d.MaxRetries }),
        new("backoff-base", "retry delay is base^n seconds after the n-th failure (1-100)",
            (v, s) => s with { BackoffBase = Number(v, "backoff-base", 1, 100, integer: false) },
            s => SecondsText.Format(s.BackoffBase),
            s => s.BackoffBase is >= 1 and <= 100,
            (s, d) => s with { BackoffBase = d.BackoffBase }),
        new("backoff-max", $"longest retry delay (a duration from 1s to {JobLimits.MaxBackoffText})",
            (v, s) => s with { BackoffMaxSeconds = Seconds(v, "backoff-max", min: 1, JobLimits.MaxBackoffSeconds, JobLimits.MaxBackoffText) },
            s => SecondsText.Format(s.BackoffMaxSeconds) + "s",
            s => s.BackoffMaxSeconds is >= 1 and <= JobLimits.MaxBackoffSeconds,
            (s, d) => s with { BackoffMaxSeconds = d.BackoffMaxSeconds }),
        new("job-timeout", $"default time limit of an attempt (a duration up to {JobLimits.MaxTimeoutText}; 0 means none)",
            (v, s) => s with { JobTimeoutSeconds = Seconds(v, "job-timeout", min: 0, JobLimits.MaxTimeoutSeconds, JobLimits.MaxTimeoutText) },
            s => SecondsText.Format(s.JobTimeoutSeconds) + "s",
            s => s.JobTimeoutSeconds is >= 0 and <= JobLimits.MaxTimeoutSeconds,
            (s, d) => s with { JobTimeoutSeconds = d.JobTimeoutSeconds }),
        new("worker-lease", $"a worker without a heartbeat for this long is dead (a duration from 1s to {Duration.MaxText})",
            (v, s) => s with { WorkerLeaseSeconds = Seconds(v, "worker-lease", min: 1, Duration.Max.TotalSeconds, Duration.MaxText) },
            s => SecondsText.Format(s.WorkerLeaseSeconds) + "s",
            s => s.WorkerLeaseSeconds >= 1 && s.WorkerLeaseSeconds <= Duration.Max.TotalSeconds,
            (s, d) => s with { WorkerLeaseSeconds = d.WorkerLeaseSeconds }),
        new("log-max-size", "cap of one attempt's log file (bytes, or 512K, 10M, 1G; at least 1K)",
            (v, s) => s with { LogMaxBytes = Size(v, "log-max-size") },
            s => ByteSize.Format(s.LogMaxBytes),
            s => s.LogMaxBytes >= 1024,
            (s, d) => s with { LogMaxBytes = d.LogMaxBytes }),
        new("on-finish", "shell command run after each job completes or goes dead (empty: none)",
            (v, s) => s with { OnFinish = FinishCommand(v) },
            s => s.OnFinish ?? "",
            s => s.OnFinish is null || FinishCommandProblem(s.OnFinish) is null,
            (s, d) => s with { OnFinish = d.OnFinish }),
        new("on-finish-timeout", $"a finish hook running longer is killed (a duration from 1s to {JobLimits.MaxTimeoutText})",
            (v, s) => s with { OnFinishTimeoutSeconds = Seconds(v, "on-finish-timeout", min: 1, JobLimits.MaxTimeoutSeconds, JobLimits.MaxTimeoutText) },
            s => SecondsText.Format(s.OnFinishTimeoutSeconds) + "s",
            s => s.OnFinishTimeoutSeconds >= 1 && s.OnFinishTimeoutSeconds <= JobLimits.MaxTimeoutSeconds,
            (s, d) => s with { OnFinishTimeoutSeconds = d.OnFinishTimeoutSeconds }),
        new("completed-retention", $"workers delete completed jobs and their logs finished longer ago than this (a duration up to {Duration.MaxText}; 0 keeps them)",
            (v, s) => s with { CompletedRetentionSeconds = Seconds(v, "completed-retention", min: 0, Duration.Max.TotalSeconds, Duration.MaxText) },
            s => Retention(s.CompletedRetentionSeconds),
            s => s.CompletedRetentionSeconds >= 0 && s.CompletedRetentionSeconds <= Duration.Max.TotalSeconds,
            (s, d) => s with { CompletedRetentionSeconds = d.CompletedRetentionSeconds }),
        new("dead-retention", $"workers delete dead jobs and their logs finished longer ago than this (a duration up to {Duration.MaxText}; 0 keeps them)",
            (v, s) => s with { DeadRetentionSeconds = Seconds(v, "dead-retention", min: 0, Duration.Max.TotalSeconds, Duration.MaxText) },
            s => Retention(s.DeadRetentionSeconds),
            s => s.DeadRetentionSeconds >= 0 && s.DeadRetentionSeconds <= Duration.Max.TotalSeconds,
            (s, d) => s with { DeadRetentionSeconds = d.DeadRetentionSeconds }),
        new("worker-log-max-size", "size at which workers/<id>.log is rotated to workers/<id>.log.1 (bytes, or 512K, 10M, 1G; at least 1K)",
            (v, s) => s with { WorkerLogMaxBytes = Size(v, "worker-log-max-size") },
            s => ByteSize.Format(s.WorkerLogMaxBytes),
            s => s.WorkerLogMaxBytes >= 1024,
            (s, d) => s with { WorkerLogMaxBytes = d.WorkerLogMaxBytes }),
    ];

    /// <summary>The highest `queue.Q.concurrency`.</summary>
    public const int MaxConcurrency = 1000;

    /// <summary>The value that removes a queue's limit.</summary>
    public const string Unlimited = "unlimited";

    /// <summary>
    /// `queue.Q.concurrency`, a key per queue: Q follows the id rules; the value is 1 to
    /// <see cref="MaxConcurrency"/>, or "unlimited" to remove the limit. Null when the name has
    /// another shape.
    /// </summary>
    public static SettingKey? QueueConcurrency(string name)
    {
        const string prefix = "queue.", suffix = ".concurrency";
        if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(suffix, StringComparison.Ordinal) || name.Length <= prefix.Length + suffix.Length)
        {
            return null;
        }
        var queue = name[prefix.Length..^suffix.Length];
        if (!JobId.IsValid(queue))
        {
            throw Failure.Usage($"Invalid queue name '{queue}' in {name}: a queue name is {JobId.Rule}.");
        }
        var key = $"{prefix}{queue}{suffix}";
        return new SettingKey(key, $"at most this many jobs of queue {queue} run at once, on every host (1-{MaxConcurrency}, or {Unlimited})",
            (v, s) =>
            {
                var limits = new Dictionary<string, int>(s.QueueConcurrency ?? [], StringComparer.Ordinal);
                if (v == Unlimited)
                {
                    limits.Remove(queue);
                }
                else
                {
                    limits[queue] = (int)Number(v, key, 1, MaxConcurrency, integer: true, orElse: $" or {Unlimited}");
                }
                return s with { QueueConcurrency = limits.Count == 0 ? null : limits };
            },
            s => s.LimitOf(queue)?.ToString(CultureInfo.InvariantCulture) ?? Unlimited,
            _ => true,
            (s, _) => s);
    }

    /// <summary>The `queue.Q.concurrency` keys that are set, by queue name.</summary>
    public static IEnumerable<SettingKey> QueueConcurrencyKeys(Settings settings) =>
        (settings.QueueConcurrency ?? []).Keys.Order(StringComparer.Ordinal).Select(q => QueueConcurrency($"queue.{q}.concurrency")!);

    public static string Names => string.Join(", ", All.Select(k => k.Name));

    /// <summary>Finds a key by its kebab-case or snake_case name.</summary>
    public static SettingKey Find(string name) =>
        All.FirstOrDefault(k => k.Name == name || k.SnakeName == name)
        ?? QueueConcurrency(name)
        ?? throw Failure.Usage($"Unknown setting '{name}'; the settings are {Names} and queue.Q.concurrency.");

    /// <summary>
    /// The settings actually used: a value out of its key's range (hand-edited config.json) is
    /// replaced by the default, with one sentence per replaced value in <paramref name="problems"/>.
    /// </summary>
    public static Settings Normalize(Settings settings, List<string> problems)
    {
        var defaults = new Settings();
        foreach (var key in All)
        {
            if (!key.InRange(settings))
            {
                var fixedUp = key.TakeDefault(settings, defaults);
                problems.Add($"{key.SnakeName} {key.Show(settings)} in config.json is out of range; using the default {key.Show(fixedUp)} (queuectl config set {key.Name} VALUE fixes the file).");
                settings = fixedUp;
            }
        }
        if (settings.QueueConcurrency is { } limits)
        {
            var kept = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (queue, limit) in limits)
            {
                if (JobId.IsValid(queue) && limit is >= 1 and <= MaxConcurrency)
                {
                    kept[queue] = limit;
                }
                else
                {
                    problems.Add($"queue_concurrency {queue}: {limit} in config.json is not a valid limit; that queue has none (queuectl config set queue.Q.concurrency N fixes the file).");
                }
            }
            settings = settings with { QueueConcurrency = kept.Count == 0 ? null : kept };
        }
        return settings;
    }

    private static double Number(string text, string key, double min, double max, bool integer, string orElse = "")
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            || !double.IsFinite(value) || value < min || value > max || (integer && value != Math.Floor(value)))
        {
            var kind = integer ? "an integer" : "a number";
            throw Failure.Usage($"Invalid value '{text}' for {key}: expected {kind} from {min} to {max}{orElse}.");
        }
        return value;
    }

    /// <summary>A finish hook as stored: empty is none; a NUL cannot reach sh -c.</summary>
    private static string? FinishCommand(string text)
    {
        if (FinishCommandProblem(text) is { } problem)
        {
            throw Failure.Usage(problem);
        }
        return text.Trim().Length == 0 ? null : text;
    }

    private static string? FinishCommandProblem(string text) =>
        text.Contains('\0', StringComparison.Ordinal) ? "Invalid value for on-finish: a command cannot hold a NUL character." : null;
    /// <summary>A retention as people set it: 0, 7d, 12h, 90m, else seconds.</summary>
    private static string Retention(double seconds) => seconds switch
    {
        0 => "0",
        _ when seconds % 86400 == 0 => SecondsText.Format(seconds / 86400) + "d",
        _ when seconds % 3600 == 0 => SecondsText.Format(seconds / 3600) + "h",
        _ when seconds % 60 == 0 => SecondsText.Format(seconds / 60) + "m",
        _ => SecondsText.Format(seconds) + "s",
    };

    private static long Size(string text, string key) =>
        ByteSize.TryParse(text, out var bytes) && bytes >= 1024
            ? bytes
            : throw Failure.Usage($"Invalid value '{text}' for {key}: expected a size such as 1048576, 512K, 10M or 1G, at least 1K.");

    private static double Seconds(string text, string key, double min, double max, string maxText)
    {
        if (!Duration.TryParse(text, out var duration) || duration.TotalSeconds < min || duration.TotalSeconds > max)
        {
            throw Failure.Usage($"Invalid value '{text}' for {key}: expected {Duration.Hint}, from {min}s to {maxText}.");
        }
        return duration.TotalSeconds;
    }
}
