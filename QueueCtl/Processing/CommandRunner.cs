using System.Text;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Retries;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// Runs one attempt: `/bin/sh -c "&lt;command&gt;"` started by <see cref="Spawn"/> in its own session
/// (so a terminal's Ctrl-C reaches the worker, not the job, and a timeout can kill the whole
/// process group), output appended to logs/&lt;id&gt;/attempt-&lt;n&gt;.log.
/// </summary>
internal static partial class CommandRunner
{
    private const int SigKill = 9;
    private const int StderrTailBytes = 2048;

    /// <summary>The worker's own environment, read once: every job starts from it.</summary>
    private static readonly Lazy<Dictionary<string, string>> WorkerEnvironment = new(() =>
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            environment[(string)variable.Key] = (string?)variable.Value ?? "";
        }
        return environment;
    });

    public static string LogPath(QueueHome home, string jobId, int attempt) =>
        Path.Combine(home.Logs, jobId, $"attempt-{attempt}.log");

    [System.Text.RegularExpressions.GeneratedRegex(@"^attempt-(\d+)\.log$")]
    private static partial System.Text.RegularExpressions.Regex LogFileName();

    /// <summary>The attempt numbers that have a log file under logs/&lt;id&gt;/, in order.</summary>
    public static List<int> LoggedAttempts(QueueHome home, string jobId)
    {
        var folder = Path.Combine(home.Logs, jobId);
        return Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder)
                .Select(p => LogFileName().Match(Path.GetFileName(p)))
                .Where(m => m.Success)
                .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
                .Order()
                .ToList()
            : [];
    }

    /// <summary>
    /// The attempts a job has had (its history), the one running now, and any that left a log
    /// file: an attempt that printed nothing has no file (see <see cref="CappedLog"/>).
    /// </summary>
    public static List<int> Attempts(QueueHome home, StoredJob? stored, string jobId)
    {
        var numbers = new SortedSet<int>(LoggedAttempts(home, jobId));
        if (stored?.Job is { } job)
        {
            var last = stored.State == JobState.Processing ? job.NextAttemptNumber : job.NextAttemptNumber - 1;
            for (var n = 1; n <= last; n++)
            {
                numbers.Add(n);
            }
        }
        return [.. numbers];
    }

    /// <summary>
    /// Runs the job's command on the calling thread. <paramref name="abort"/> kills it at once and
    /// throws OperationCanceledException: the job stays claimed for recovery. <paramref name="stop"/>
    /// kills it and records the stopper's reason (fencing). Every process of the attempt carries
    /// QUEUECTL_WORKER_ID and QUEUECTL_JOB_ID, which <see cref="JobProcesses"/> finds it by.
    /// </summary>
    public static AttemptResult Run(QueueHome home, Job job, string workerId, TimeProvider time, TimeSpan? timeout, long logMaxBytes,
        CancellationToken abort, RunGuard? guard = null, RunStopper? stop = null)
    {
        var started = time.UtcNow();
        var cwd = job.Cwd ?? home.Root;
        if (!Directory.Exists(cwd))
        {
            return new AttemptResult(null, $"working directory '{cwd}' does not exist", started, time.UtcNow());
        }

        var environment = new Dictionary<string, string>(WorkerEnvironment.Value, StringComparer.Ordinal);
        environment["QUEUECTL_ATTEMPT"] = (job.Attempts + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["QUEUECTL_HOME"] = home.Root;
        foreach (var (key, value) in job.Env ?? [])
        {
            environment[key] = value;
        }
        // The marks the attempt's processes are found by: after the job's own variables, so it cannot change them.
        environment["QUEUECTL_JOB_ID"] = job.Id;
        environment["QUEUECTL_WORKER_ID"] = workerId;

        using var log = new CappedLog(LogPath(home, job.Id, job.NextAttemptNumber), logMaxBytes);
        Spawn child;
        try
        {
            child = Spawn.Start(job.Command, cwd, environment);
        }
        catch (IOException e)
        {
            return new AttemptResult(null, $"could not start /bin/sh: {e.Message}", started, time.UtcNow());
        }
        guard?.Started(child.Pid);
        using (child)
        {
            var tail = new TailBuffer(StderrTailBytes);
            using var timer = timeout is { } t ? new CancellationTokenSource(t, time) : null;
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(abort, stop?.Token ?? CancellationToken.None, timer?.Token ?? CancellationToken.None);
            var exited = false;
            int exitCode;
            using (limit.Token.Register(() =>
            {
                if (!Volatile.Read(ref exited))
                {
                    Kill(child.Pid, workerId, job.Id, time);
                }
            }))
            {
                // Output still in the pipes after the exit is read; a background child that keeps
                // them open gets a short grace, then the attempt ends without it.
                exitCode = child.Drain((data, isStderr) =>
                {
                    log.Write(data);
                    if (isStderr)
                    {
                        tail.Add(data);
                    }
                }, Timing.PipeGrace, time);
                Volatile.Write(ref exited, true);
            }
            guard?.Ended(child.Pid);

            var finished = time.UtcNow();
            if (limit.IsCancellationRequested)
            {
                abort.ThrowIfCancellationRequested();
                if (stop?.Reason is { } reason)
                {
                    log.Note(reason);
                    return new AttemptResult(exitCode, reason, started, finished) { OutputLost = log.Lost };
                }
                var seconds = SecondsText.Format(timeout!.Value.TotalSeconds);
                log.Note($"timed out after {seconds} s: process group killed");
                return new AttemptResult(exitCode, $"timed out after {seconds} s", started, finished) { OutputLost = log.Lost };
            }
            var error = exitCode == 0 ? null : LastError(exitCode, tail.Text());
            return new AttemptResult(exitCode, error, started, finished) { OutputLost = log.Lost };
        }
    }

    private static string LastError(int exitCode, string stderrTail)
    {
        var lines = stderrTail.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var last = lines.Length == 0 ? "" : string.Join(" | ", lines.TakeLast(3));
        var prefix = exitCode switch
        {
            127 => "command not found (exit 127)",
            126 => "command not executable (exit 126)",
            > 128 and < 160 => $"killed by signal {exitCode - 128} (exit {exitCode})",
            _ => $"exit code {exitCode}",
        };
        return last.Length == 0 ? prefix : $"{prefix}: {Shorten(last, 400)}";
    }

    private static string Shorten(string text, int max) => text.Length <= max ? text : "…" + text[^(max - 1)..];

    /// <summary>
    /// The shell leads its own session and process group (pgid = its pid): kill the group, then
    /// whatever of the attempt left it (setsid, a double fork) but still carries its marks.
    /// </summary>
    private static void Kill(int pid, string workerId, string jobId, TimeProvider time)
    {
        Native.Signal(-pid, SigKill);
        JobProcesses.KillAll(workerId, jobId, Timing.KillWait, time);
    }

    /// <summary>The last N bytes written, for last_error.</summary>
    private sealed class TailBuffer(int capacity)
    {
        private readonly List<byte> _bytes = new(capacity);

        public void Add(ReadOnlySpan<byte> data)
        {
            if (data.Length >= capacity)
            {
                _bytes.Clear();
                _bytes.AddRange(data[^capacity..]);
                return;
            }
            var overflow = _bytes.Count + data.Length - capacity;
            if (overflow > 0)
            {
                _bytes.RemoveRange(0, overflow);
            }
            _bytes.AddRange(data);
        }

        public string Text() => Encoding.UTF8.GetString(_bytes.ToArray());
    }
}
