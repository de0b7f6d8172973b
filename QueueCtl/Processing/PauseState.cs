using System.Text;
using System.Text.Json;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>One pause switch that is on: every queue (<see cref="Queue"/> null) or one named queue.</summary>
internal sealed record PauseSwitch(string? Queue, DateTime? PausedAt);

/// <summary>A worker's view of the pause changing (see <see cref="PauseState.Check"/>).</summary>
internal sealed record PauseChange(bool Paused, string Message);

/// <summary>
/// The pause switches, plain files under the home: &lt;home&gt;/paused stops workers taking any
/// new job; &lt;home&gt;/paused.d/&lt;queue&gt; stops them taking a job of that queue. A switch is
/// on while its file exists: `pause` writes it atomically (tmp/, then a rename that never
/// replaces), `resume` deletes it, so restarts and `ls` see the same thing. A worker checks
/// with a stat or two per turn of its loop, and while paused looks again every
/// <see cref="Poll"/>, so a resume is noticed within that.
/// </summary>
internal sealed class PauseState(QueueHome home)
{
    /// <summary>The queue of a job that names none.</summary>
    public const string DefaultQueue = Job.DefaultQueue;

    private bool _paused;

    /// <summary>True while the last <see cref="Check"/> found the worker's queue paused.</summary>
    public bool Paused => _paused;

    public static string AllFile(QueueHome home) => Path.Combine(home.Root, "paused");

    public static string QueueFolder(QueueHome home) => Path.Combine(home.Root, "paused.d");

    public static string QueueFile(QueueHome home, string queue) => Path.Combine(QueueFolder(home), queue);

    /// <summary>The file of a switch: every queue when <paramref name="queue"/> is null.</summary>
    public static string FileOf(QueueHome home, string? queue) => queue is null ? AllFile(home) : QueueFile(home, queue);

    /// <summary>
    /// True when a worker must take no new job of <paramref name="queue"/>: two stats, no read.
    /// A null queue asks about the every-queue switch alone (one stat).
    /// </summary>
    public bool Holds(string? queue) => File.Exists(AllFile(home)) || queue is not null && File.Exists(QueueFile(home, queue));

    /// <summary>True when the switch of one named queue is on (the every-queue switch is not looked at).</summary>
    public static bool QueueHeld(QueueHome home, string queue) => File.Exists(QueueFile(home, queue));

    /// <summary>
    /// Looks at the switches for <paramref name="queue"/> (null: the every-queue switch alone; a
    /// worker's index skips the jobs of paused named queues itself); returns what changed since
    /// the last look (for the worker's record and log), or null.
    /// </summary>
    public PauseChange? Check(string? queue)
    {
        var paused = Holds(queue);
        if (paused == _paused)
        {
            return null;
        }
        _paused = paused;
        return new PauseChange(paused, paused
            ? "paused: taking no new job until `queuectl resume`"
            : "resumed: taking jobs again");
    }

    /// <summary>
    /// Turns a switch on. False when it was on already (its file, and the time in it, are left
    /// alone). The queue name must have been validated (<see cref="IsValidQueue"/>).
    /// </summary>
    public static bool Pause(QueueHome home, string? queue, DateTime now)
    {
        if (queue is not null)
        {
            Directory.CreateDirectory(QueueFolder(home));
        }
        var text = $"{{\"paused_at\":\"{UtcTimestamp.ToText(UtcTimestamp.Truncate(now))}\"}}\n";
        return AtomicFile.Write(home, FileOf(home, queue), Encoding.UTF8.GetBytes(text), noReplace: true);
    }

    /// <summary>Turns a switch off. False when it was off already.</summary>
    public static bool Resume(QueueHome home, string? queue)
    {
        var path = FileOf(home, queue);
        if (!File.Exists(path))
        {
            return false;
        }
        // RACE: two resumes at once: the second delete finds nothing, which File.Delete allows.
        File.Delete(path);
        Native.FsyncDirectory(Path.GetDirectoryName(path)!);
        return true;
    }

    /// <summary>The switches that are on: every queue first, then the named queues by name.</summary>
    public static List<PauseSwitch> Read(QueueHome home)
    {
        var on = new List<PauseSwitch>();
        if (File.Exists(AllFile(home)))
        {
            on.Add(new PauseSwitch(null, PausedAt(AllFile(home))));
        }
        if (Directory.Exists(QueueFolder(home)))
        {
            foreach (var path in Directory.EnumerateFiles(QueueFolder(home)).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(path);
                if (IsValidQueue(name))
                {
                    on.Add(new PauseSwitch(name, PausedAt(path)));
                }
            }
        }
        return on;
    }

    /// <summary>Queue names follow the id rules (<see cref="JobId.Rule"/>): they become file names.</summary>
    public static bool IsValidQueue(string name) => JobId.IsValid(name);

    /// <summary>"paused", "paused_since" and "paused_queues", for `status --json` and /api/status.</summary>
    public static void WriteProperties(Utf8JsonWriter w, List<PauseSwitch> on)
    {
        var all = on.FirstOrDefault(s => s.Queue is null);
        w.WriteBoolean("paused", all is not null);
        if (all?.PausedAt is { } since)
        {
            w.WriteString("paused_since", UtcTimestamp.ToText(since));
        }
        else
        {
            w.WriteNull("paused_since");
        }
        w.WriteStartArray("paused_queues");
        foreach (var queue in on.Where(s => s.Queue is not null))
        {
            w.WriteStringValue(queue.Queue);
        }
        w.WriteEndArray();
    }

    /// <summary>The time written in a switch; null when it was written by hand (`touch paused` works too).</summary>
    private static DateTime? PausedAt(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.TryGetProperty("paused_at", out var at) && at.ValueKind == JsonValueKind.String
                && UtcTimestamp.TryParse(at.GetString()!, out var parsed) ? parsed : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            // RACE: resumed since it was listed, or a file made by hand: on, with no time.
            return null;
        }
    }
}
