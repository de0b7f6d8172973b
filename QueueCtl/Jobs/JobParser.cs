using System.Text;
using System.Text.Json;

namespace QueueCtl.Jobs;

/// <summary>What a new job gets when its JSON leaves a field out.</summary>
internal sealed record JobDefaults(int MaxRetries, string? Cwd, DateTime Now);

/// <summary>
/// Turns user-supplied JSON (the CLI argument, a JSON Lines row, a dropped file) into a
/// pending job, or refuses it with one sentence. Every rule of the job file (docs/usage.md, "The job file") lives here.
/// </summary>
internal static class JobParser
{
    private enum Kind { String, Integer, Number, Timestamp, StringMap, StringArray, Array, Object }

    private static readonly Dictionary<string, Kind> Keys = new(StringComparer.Ordinal)
    {
        ["id"] = Kind.String,
        ["command"] = Kind.String,
        ["state"] = Kind.String,
        ["queue"] = Kind.String,
        ["labels"] = Kind.StringArray,
        ["after"] = Kind.StringArray,
        ["on_finish"] = Kind.String,
        ["attempts"] = Kind.Integer,
        ["max_retries"] = Kind.Integer,
        ["created_at"] = Kind.Timestamp,
        ["updated_at"] = Kind.Timestamp,
        ["priority"] = Kind.Integer,
        ["not_before"] = Kind.Timestamp,
        ["run_at"] = Kind.Timestamp,
        ["timeout_seconds"] = Kind.Number,
        ["cwd"] = Kind.String,
        ["env"] = Kind.StringMap,
        ["worker_id"] = Kind.String,
        ["started_at"] = Kind.Timestamp,
        ["finished_at"] = Kind.Timestamp,
        ["exit_code"] = Kind.Integer,
        ["last_error"] = Kind.String,
        ["history"] = Kind.Array,
        ["meta"] = Kind.Object,
    };

    public static string AllowedKeys => string.Join(", ", Keys.Keys);

    /// <summary>Decodes strictly: a byte that is not UTF-8 is an error, never a silent U+FFFD.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The size limit as one phrase for messages: 1M (1048576 bytes).</summary>
    public static string SizeLimitText => $"{ByteSize.Format(JobLimits.MaxFileBytes)} ({JobLimits.MaxFileBytes} bytes)";

    /// <summary>
    /// Parses a job file's bytes (a dropped file): they must be UTF-8, and at most
    /// <see cref="JobLimits.MaxFileBytes"/> (callers check the size before they read).
    /// </summary>
    public static Job Parse(byte[] utf8, JobDefaults defaults, string? fallbackId = null) =>
        Parse(Decode(utf8), defaults, fallbackId);

    /// <summary>The text of a job's bytes, or a refusal naming the first byte that is not UTF-8.</summary>
    public static string Decode(byte[] utf8)
    {
        CheckSize(utf8.Length);
        try
        {
            var text = StrictUtf8.GetString(utf8);
            return text.StartsWith('\uFEFF') ? text[1..] : text; // a byte order mark is not part of the JSON
        }
        catch (DecoderFallbackException e)
        {
            var at = e.Index >= 0 ? $" at byte {e.Index}" : "";
            throw Failure.Usage($"The job is not valid UTF-8 text (an invalid byte{at}); write it as UTF-8.");
        }
    }

    /// <summary>Refuses a job bigger than <see cref="JobLimits.MaxFileBytes"/>.</summary>
    public static void CheckSize(long bytes)
    {
        if (bytes > JobLimits.MaxFileBytes)
        {
            throw Failure.Usage($"The job is {bytes} bytes; a job file is limited to {SizeLimitText}.");
        }
    }

    /// <summary>Parses one job; <paramref name="fallbackId"/> is used when the JSON has no id (a dropped file's name).</summary>
    public static Job Parse(string json, JobDefaults defaults, string? fallbackId = null)
    {
        CheckSize(Encoding.UTF8.GetByteCount(json));
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw Failure.Usage($"The job is not valid JSON: {FirstSentence(e.Message)}");
        }

        using (document)
        {
            return FromElement(document.RootElement, defaults, fallbackId);
        }
    }

    private static Job FromElement(JsonElement root, JobDefaults defaults, string? fallbackId)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Failure.Usage($"A job must be a JSON object, not {Describe(root.ValueKind)}.");
        }

        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (!Keys.TryGetValue(property.Name, out var kind))
            {
                throw Failure.Usage(
                    $"Unknown key '{property.Name}'; allowed keys are {AllowedKeys} (put free-form data under 'meta').");
            }
            if (!fields.TryAdd(property.Name, property.Value))
            {
                throw Failure.Usage($"Key '{property.Name}' appears twice.");
            }
            if (property.Value.ValueKind != JsonValueKind.Null)
            {
                CheckKind(property.Name, property.Value, kind);
            }
        }

        var command = Text(fields, "command");
        if (string.IsNullOrWhiteSpace(command))
        {
            throw Failure.Usage("A job needs a non-empty 'command'.");
        }
        var env = fields.TryGetValue("env", out var envElement) && envElement.ValueKind == JsonValueKind.Object
            ? envElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal)
            : null;
        CheckExecutable(command, env);
        var cwd = Text(fields, "cwd");
        if (cwd is not null && cwd.Contains('\0', StringComparison.Ordinal))
        {
            throw Failure.Usage("'cwd' contains a NUL character, which a path cannot hold.");
        }

        var id = Text(fields, "id") ?? fallbackId ?? JobId.New(defaults.Now);
        if (!JobId.IsValid(id))
        {
            throw Failure.Usage($"Invalid id '{id}': an id is {JobId.Rule}.");
        }

        var state = Text(fields, "state");
        if (state is not null && state != JobState.Pending)
        {
            throw Failure.Usage($"A new job's 'state' can only be 'pending', not '{state}'.");
        }

        var queue = NormalizeQueue(Text(fields, "queue"), "'queue'");
        var labels = fields.TryGetValue("labels", out var labelsElement) && labelsElement.ValueKind == JsonValueKind.Array
            ? NormalizeLabels(labelsElement.EnumerateArray().Select(e => e.GetString()!), "'labels'")
            : null;

        var after = fields.TryGetValue("after", out var afterElement) && afterElement.ValueKind == JsonValueKind.Array
            ? NormalizeAfter(afterElement.EnumerateArray().Select(e => e.GetString()!), id, "'after'")
            : null;
        var onFinish = Text(fields, "on_finish");
        if (onFinish is not null && onFinish.Contains('\0', StringComparison.Ordinal))
        {
            throw Failure.Usage("'on_finish' contains a NUL character, which a command cannot hold.");
        }

        var attempts = Integer(fields, "attempts") ?? 0;
        var maxRetries = Integer(fields, "max_retries") ?? defaults.MaxRetries;
        if (maxRetries is < 0 or > JobLimits.MaxRetries)
        {
            throw Failure.Usage($"'max_retries' must be from 0 to {JobLimits.MaxRetries}, not {maxRetries}.");
        }
        if (attempts < 0 || attempts > maxRetries + 1)
        {
            throw Failure.Usage($"'attempts' must be from 0 to max_retries + 1 ({maxRetries + 1}), not {attempts}.");
        }

        var timeout = Number(fields, "timeout_seconds");
        if (timeout is <= 0 or > JobLimits.MaxTimeoutSeconds)
        {
            throw Failure.Usage(
                $"'timeout_seconds' must be greater than 0 and at most {JobLimits.MaxTimeoutSeconds} ({JobLimits.MaxTimeoutText}), not {SecondsText.Format(timeout.Value)}.");
        }

        var notBefore = Timestamp(fields, "not_before");
        var runAt = Timestamp(fields, "run_at");
        if (notBefore is not null && runAt is not null)
        {
            throw Failure.Usage("Give 'run_at' or 'not_before', not both.");
        }

        var now = UtcTimestamp.Truncate(defaults.Now);
        return new Job
        {
            Id = id,
            Command = command,
            State = JobState.Pending,
            Queue = queue,
            Labels = labels,
            After = after,
            OnFinish = string.IsNullOrWhiteSpace(onFinish) ? null : onFinish,
            Attempts = attempts,
            MaxRetries = maxRetries,
            CreatedAt = Timestamp(fields, "created_at") ?? now,
            UpdatedAt = now,
            Priority = Integer(fields, "priority"),
            NotBefore = notBefore ?? runAt,
            TimeoutSeconds = timeout,
            Cwd = cwd ?? defaults.Cwd,
            Env = env,
            WorkerId = null,
            StartedAt = Timestamp(fields, "started_at"),
            FinishedAt = Timestamp(fields, "finished_at"),
            ExitCode = Integer(fields, "exit_code"),
            LastError = Text(fields, "last_error"),
            History = fields.TryGetValue("history", out var history) && history.ValueKind == JsonValueKind.Array
                ? ReadHistory(history)
                : null,
            Meta = fields.TryGetValue("meta", out var meta) && meta.ValueKind != JsonValueKind.Null
                ? meta.Clone()
                : null,
        };
    }

    /// <summary>
    /// A queue name as stored: null for <see cref="Job.DefaultQueue"/> (absent means default), else
    /// the name, which must follow the id rules (it names files such as paused.d/&lt;queue&gt;).
    /// <paramref name="what"/> names the source in the message ("'queue'", "--queue").
    /// </summary>
    public static string? NormalizeQueue(string? queue, string what)
    {
        if (queue is null)
        {
            return null;
        }
        if (!JobId.IsValid(queue))
        {
            throw Failure.Usage($"Invalid queue name '{Shorten(queue)}' in {what}: a queue name is {JobId.Rule}.");
        }
        return queue == Job.DefaultQueue ? null : queue;
    }

    /// <summary>Parent ids as stored: each a valid id, not the job's own, repeats dropped, order kept; null when none.</summary>
    public static List<string>? NormalizeAfter(IEnumerable<string> parents, string id, string what)
    {
        var kept = new List<string>();
        foreach (var parent in parents)
        {
            if (!JobId.IsValid(parent))
            {
                throw Failure.Usage($"Invalid job id '{Shorten(parent)}' in {what}: an id is {JobId.Rule}.");
            }
            if (parent == id)
            {
                throw Failure.Usage($"Job '{id}' cannot wait for itself ({what}).");
            }
            if (!kept.Contains(parent, StringComparer.Ordinal))
            {
                kept.Add(parent);
            }
        }
        return kept.Count == 0 ? null : kept;
    }

    /// <summary>Labels as stored: each checked by the id rules, repeats dropped, order kept; null when none.</summary>
    public static List<string>? NormalizeLabels(IEnumerable<string> labels, string what)
    {
        var kept = new List<string>();
        foreach (var label in labels)
        {
            if (!JobId.IsValid(label))
            {
                throw Failure.Usage($"Invalid label '{Shorten(label)}' in {what}: a label is {JobId.Rule}.");
            }
            if (!kept.Contains(label, StringComparer.Ordinal))
            {
                kept.Add(label);
            }
        }
        return kept.Count == 0 ? null : kept;
    }

    /// <summary>
    /// What execve would refuse or silently cut: a NUL ends a C string, an env key with '=' or
    /// none at all is not a variable, and the kernel limits one argument (the command given to
    /// sh -c) to MAX_ARG_STRLEN and all of them together to ARG_MAX.
    /// </summary>
    private static void CheckExecutable(string command, Dictionary<string, string>? env)
    {
        if (command.Contains('\0', StringComparison.Ordinal))
        {
            throw Failure.Usage("'command' contains a NUL character, which a command line cannot carry.");
        }
        var commandBytes = Encoding.UTF8.GetByteCount(command);
        if (commandBytes > JobLimits.MaxCommandBytes)
        {
            throw Failure.Usage(
                $"'command' is {commandBytes} bytes; Linux runs at most {JobLimits.MaxCommandBytes} bytes as one argument (MAX_ARG_STRLEN): put a long script in a file and run that.");
        }
        long total = commandBytes + 1;
        foreach (var (key, value) in env ?? [])
        {
            if (key.Length == 0)
            {
                throw Failure.Usage("'env' has an empty variable name.");
            }
            if (key.Contains('=', StringComparison.Ordinal))
            {
                throw Failure.Usage($"'env' variable name '{Shorten(key)}' contains '=', which ends a name.");
            }
            if (key.Contains('\0', StringComparison.Ordinal))
            {
                throw Failure.Usage("An 'env' variable name contains a NUL character, which the environment cannot carry.");
            }
            if (value.Contains('\0', StringComparison.Ordinal))
            {
                throw Failure.Usage($"'env' variable '{Shorten(key)}' contains a NUL character, which the environment cannot carry.");
            }
            total += Encoding.UTF8.GetByteCount(key) + 1 + Encoding.UTF8.GetByteCount(value) + 1;
        }
        if (total > JobLimits.MaxExecBytes)
        {
            throw Failure.Usage(
                $"'command' and 'env' together are {total} bytes; a job may pass at most {ByteSize.Format(JobLimits.MaxExecBytes)} ({JobLimits.MaxExecBytes} bytes) to the command, leaving room under Linux's ARG_MAX for the worker's own environment.");
        }
    }

    private static void CheckKind(string name, JsonElement value, Kind kind)
    {
        var ok = kind switch
        {
            Kind.String => value.ValueKind == JsonValueKind.String,
            Kind.Integer => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _),
            Kind.Number => value.ValueKind == JsonValueKind.Number,
            Kind.Timestamp => value.ValueKind == JsonValueKind.String && UtcTimestamp.TryParse(value.GetString()!, out _),
            Kind.StringMap => value.ValueKind == JsonValueKind.Object
                && value.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.String),
            Kind.StringArray => value.ValueKind == JsonValueKind.Array
                && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String),
            Kind.Array => value.ValueKind == JsonValueKind.Array,
            _ => value.ValueKind == JsonValueKind.Object,
        };
        if (!ok)
        {
            var expected = kind switch
            {
                Kind.String => "a string",
                Kind.Integer => "an integer",
                Kind.Number => "a number",
                Kind.Timestamp => "an ISO-8601 date-time string such as 2025-11-04T10:30:00Z",
                Kind.StringMap => "an object whose values are strings",
                Kind.StringArray => "an array of strings",
                Kind.Array => "an array",
                _ => "an object",
            };
            throw Failure.Usage($"'{name}' must be {expected}, not {Describe(value)}.");
        }
    }

    private static List<Attempt> ReadHistory(JsonElement history)
    {
        try
        {
            return history.Deserialize(JobJson.Default.ListAttempt) ?? [];
        }
        catch (JsonException)
        {
            throw Failure.Usage("'history' must be an array of attempt objects as queuectl writes them.");
        }
    }

    private static string? Text(Dictionary<string, JsonElement> fields, string name) =>
        fields.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Integer(Dictionary<string, JsonElement> fields, string name) =>
        fields.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    private static double? Number(Dictionary<string, JsonElement> fields, string name) =>
        fields.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static DateTime? Timestamp(Dictionary<string, JsonElement> fields, string name) =>
        fields.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.String
            && UtcTimestamp.TryParse(v.GetString()!, out var utc)
            ? UtcTimestamp.Truncate(utc)
            : null;

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Shorten(value.GetString()!)}\"",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        _ => Describe(value.ValueKind),
    };

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return (cut < 0 ? message : message[..(cut + 1)]).TrimEnd();
    }
}
