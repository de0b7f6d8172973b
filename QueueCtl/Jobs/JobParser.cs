using System.Text.Json;

namespace QueueCtl.Jobs;

/// <summary>What a new job gets when its JSON leaves a field out.</summary>
internal sealed record JobDefaults(int MaxRetries, string? Cwd, DateTime Now);

/// <summary>
/// Turns user-supplied JSON (the CLI argument, a JSON Lines row, a dropped file) into a
/// pending job, or refuses it with one sentence. Every rule of SPEC.md "The job file" lives here.
/// </summary>
internal static class JobParser
{
    private enum Kind { String, Integer, Number, Timestamp, StringMap, Array, Any }

    private static readonly Dictionary<string, Kind> Keys = new(StringComparer.Ordinal)
    {
        ["id"] = Kind.String,
        ["command"] = Kind.String,
        ["state"] = Kind.String,
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
        ["meta"] = Kind.Any,
    };

    public static string AllowedKeys => string.Join(", ", Keys.Keys);

    /// <summary>Parses one job; <paramref name="fallbackId"/> is used when the JSON has no id (a dropped file's name).</summary>
    public static Job Parse(string json, JobDefaults defaults, string? fallbackId = null)
    {
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

        var attempts = Integer(fields, "attempts") ?? 0;
        var maxRetries = Integer(fields, "max_retries") ?? defaults.MaxRetries;
        if (attempts < 0 || maxRetries < 0)
        {
            throw Failure.Usage("'attempts' and 'max_retries' cannot be negative.");
        }

        var timeout = Number(fields, "timeout_seconds");
        if (timeout is <= 0)
        {
            throw Failure.Usage("'timeout_seconds' must be greater than 0.");
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
            Attempts = attempts,
            MaxRetries = maxRetries,
            CreatedAt = Timestamp(fields, "created_at") ?? now,
            UpdatedAt = now,
            Priority = Integer(fields, "priority"),
            NotBefore = notBefore ?? runAt,
            TimeoutSeconds = timeout,
            Cwd = Text(fields, "cwd") ?? defaults.Cwd,
            Env = fields.TryGetValue("env", out var env) && env.ValueKind == JsonValueKind.Object
                ? env.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal)
                : null,
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
            Kind.Array => value.ValueKind == JsonValueKind.Array,
            _ => true,
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
                _ => "an array",
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
