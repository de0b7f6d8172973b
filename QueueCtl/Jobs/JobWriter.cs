using System.Buffers;
using System.Text.Json;

namespace QueueCtl.Jobs;

/// <summary>
/// A job file's bytes, written by hand with a Utf8JsonWriter: the same bytes as the serializer with
/// <see cref="JobJson"/>'s options and the relaxed encoder (indented, nulls left out, keys in
/// <see cref="Job"/>'s order), without the serializer's metadata set-up, which read the types'
/// attributes by reflection on first use and was a third of `enqueue`'s start-up under NativeAOT.
/// JobWriterTests compares the two byte for byte; a key added to Job must be added here too.
/// </summary>
internal static class JobWriter
{
    /// <summary>Files are for people too: `&gt;`, `&amp;` and non-ASCII as they are (never embedded in HTML).</summary>
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        Encoder = PlainJsonEncoder.Instance,
    };

    /// <summary>The file's bytes, ending in a newline.</summary>
    public static byte[] Write(Job job)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            WriteJob(w, job);
        }
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteJob(Utf8JsonWriter w, Job job)
    {
        w.WriteStartObject();
        w.WriteString("id", job.Id);
        String(w, "queue", job.Queue);
        Strings(w, "after", job.After);
        String(w, "on_finish", job.OnFinish);
        Strings(w, "labels", job.Labels);
        w.WriteString("command", job.Command);
        w.WriteString("state", job.State);
        w.WriteNumber("attempts", job.Attempts);
        w.WriteNumber("max_retries", job.MaxRetries);
        Time(w, "created_at", job.CreatedAt);
        Time(w, "updated_at", job.UpdatedAt);
        Number(w, "priority", job.Priority);
        Time(w, "not_before", job.NotBefore);
        if (job.TimeoutSeconds is { } timeout)
        {
            w.WriteNumber("timeout_seconds", timeout);
        }
        String(w, "cwd", job.Cwd);
        if (job.Env is { } env)
        {
            w.WriteStartObject("env");
            foreach (var (name, value) in env)
            {
                w.WriteString(name, value);
            }
            w.WriteEndObject();
        }
        String(w, "worker_id", job.WorkerId);
        Time(w, "started_at", job.StartedAt);
        Time(w, "finished_at", job.FinishedAt);
        Number(w, "exit_code", job.ExitCode);
        String(w, "last_error", job.LastError);
        if (job.History is { } history)
        {
            w.WriteStartArray("history");
            foreach (var attempt in history)
            {
                WriteAttempt(w, attempt);
            }
            w.WriteEndArray();
        }
        if (job.Meta is { } meta)
        {
            w.WritePropertyName("meta");
            meta.WriteTo(w);
        }
        w.WriteEndObject();
    }

    private static void WriteAttempt(Utf8JsonWriter w, Attempt attempt)
    {
        w.WriteStartObject();
        w.WriteNumber("attempt", attempt.Number);
        String(w, "worker", attempt.Worker);
        Time(w, "started_at", attempt.StartedAt);
        Time(w, "finished_at", attempt.FinishedAt);
        w.WriteNumber("duration_seconds", attempt.DurationSeconds);
        Number(w, "exit_code", attempt.ExitCode);
        String(w, "outcome", attempt.Outcome);
        String(w, "error", attempt.Error);
        String(w, "output_lost", attempt.OutputLost);
        if (attempt.LateFinish is { } late)
        {
            w.WriteStartObject("late_finish");
            w.WriteString("worker", late.Worker);
            Time(w, "finished_at", late.FinishedAt);
            Number(w, "exit_code", late.ExitCode);
            String(w, "note", late.Note);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void String(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void Strings(Utf8JsonWriter w, string name, List<string>? values)
    {
        if (values is null)
        {
            return;
        }
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }
        w.WriteEndArray();
    }

    private static void Number(Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } number)
        {
            w.WriteNumber(name, number);
        }
    }

    private static void Time(Utf8JsonWriter w, string name, DateTime? value)
    {
        if (value is { } time)
        {
            w.WriteString(name, UtcTimestamp.ToText(time));
        }
    }
}
