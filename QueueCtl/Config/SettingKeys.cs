using System.Globalization;

namespace QueueCtl.Config;

/// <summary>One key of `config set|get|list`: its names, what it accepts, how it reads and writes Settings.</summary>
internal sealed record SettingKey(
    string Name,
    string Description,
    Func<string, Settings, Settings> Apply,
    Func<Settings, string> Show)
{
    public string SnakeName => Name.Replace('-', '_');
}

/// <summary>The settings table: every key's validation in one place.</summary>
internal static class SettingKeys
{
    public static readonly IReadOnlyList<SettingKey> All =
    [
        new("max-retries", "retries after the first attempt for new jobs (0-1000)",
            (v, s) => s with { MaxRetries = (int)Number(v, "max-retries", 0, 1000, integer: true) },
            s => s.MaxRetries.ToString(CultureInfo.InvariantCulture)),
        new("backoff-base", "retry delay is base^n seconds after the n-th failure (1-100)",
            (v, s) => s with { BackoffBase = Number(v, "backoff-base", 1, 100, integer: false) },
            s => Duration.Seconds(s.BackoffBase)),
        new("backoff-max", "longest retry delay (a duration, at least 1s)",
            (v, s) => s with { BackoffMaxSeconds = Seconds(v, "backoff-max", min: 1) },
            s => Duration.Seconds(s.BackoffMaxSeconds) + "s"),
        new("job-timeout", "default time limit of an attempt (a duration; 0 means none)",
            (v, s) => s with { JobTimeoutSeconds = Seconds(v, "job-timeout", min: 0) },
            s => Duration.Seconds(s.JobTimeoutSeconds) + "s"),
        new("worker-lease", "a worker without a heartbeat for this long is dead (a duration, at least 1s)",
            (v, s) => s with { WorkerLeaseSeconds = Seconds(v, "worker-lease", min: 1) },
            s => Duration.Seconds(s.WorkerLeaseSeconds) + "s"),
        new("log-max-size", "cap of one attempt's log file (bytes, or 512K, 10M, 1G; at least 1K)",
            (v, s) => s with { LogMaxBytes = Size(v, "log-max-size") },
            s => ByteSize.Format(s.LogMaxBytes)),
    ];

    public static string Names => string.Join(", ", All.Select(k => k.Name));

    /// <summary>Finds a key by its kebab-case or snake_case name.</summary>
    public static SettingKey Find(string name) =>
        All.FirstOrDefault(k => k.Name == name || k.SnakeName == name)
        ?? throw Failure.Usage($"Unknown setting '{name}'; the settings are {Names}.");

    private static double Number(string text, string key, double min, double max, bool integer)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            || value < min || value > max || (integer && value != Math.Floor(value)))
        {
            var kind = integer ? "an integer" : "a number";
            throw Failure.Usage($"Invalid value '{text}' for {key}: expected {kind} from {min} to {max}.");
        }
        return value;
    }

    private static long Size(string text, string key) =>
        ByteSize.TryParse(text, out var bytes) && bytes >= 1024
            ? bytes
            : throw Failure.Usage($"Invalid value '{text}' for {key}: expected a size such as 1048576, 512K, 10M or 1G, at least 1K.");

    private static double Seconds(string text, string key, double min)
    {
        if (!Duration.TryParse(text, out var duration) || duration.TotalSeconds < min)
        {
            throw Failure.Usage($"Invalid value '{text}' for {key}: expected {Duration.Hint}, at least {min}s.");
        }
        return duration.TotalSeconds;
    }
}
