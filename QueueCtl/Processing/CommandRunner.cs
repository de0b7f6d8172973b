using System.Text;
using QueueCtl.Jobs;
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
    private static readonly TimeSpan PipeGrace = TimeSpan.FromMilliseconds(500);

    public static string LogPath(QueueHome home, string jobId, int attempt) =>
        Path.Combine(home.Logs, jobId, $"attempt-{attempt}.log");

    [System.Text.RegularExpressions.GeneratedRegex(@"^attempt-(\d+)\.log$")]
    private static partial System.Text.RegularExpressions.Regex LogFileName();

    /// <summary>The run numbers that have a log file under logs/&lt;id&gt;/, in order.</summary>
    public static List<int> LoggedRuns(QueueHome home, string jobId)
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
    /// Runs the job's command. <paramref name="abort"/> kills it at once and throws
    /// OperationCanceledException: the job stays claimed for recovery.
    /// </summary>
    public static async Task<AttemptResult> RunAsync(QueueHome home, Job job, TimeSpan? timeout, long logMaxBytes, CancellationToken abort)
    {
        var started = DateTime.UtcNow;
        var cwd = job.Cwd ?? home.Root;
        if (!Directory.Exists(cwd))
        {
            return new AttemptResult(null, $"working directory '{cwd}' does not exist", started, DateTime.UtcNow);
        }

        var logPath = LogPath(home, job.Id, job.NextRun);
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        using var log = new CappedLog(logPath, logMaxBytes);
        return await RunAsync(home, job, timeout, log, started, cwd, abort);
    }

    private static async Task<AttemptResult> RunAsync(
        QueueHome home, Job job, TimeSpan? timeout, CappedLog log, DateTime started, string cwd, CancellationToken abort)
    {

        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            environment[(string)variable.Key] = (string?)variable.Value ?? "";
        }
        environment["QUEUECTL_JOB_ID"] = job.Id;
        environment["QUEUECTL_ATTEMPT"] = (job.Attempts + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["QUEUECTL_HOME"] = home.Root;
        foreach (var (key, value) in job.Env ?? [])
        {
            environment[key] = value;
        }

        Spawn child;
        try
        {
            child = Spawn.Start(job.Command, cwd, environment);
        }
        catch (IOException e)
        {
            return new AttemptResult(null, $"could not start /bin/sh: {e.Message}", started, DateTime.UtcNow);
        }
        using (child)
        {
            var tail = new TailBuffer(StderrTailBytes);
            // Blocking reads and waitpid on pool threads (WorkerHost raises the pool's minimum, so
            // they never wait for thread injection): a background child that keeps a pipe open only
            // keeps its reader, never the worker.
            var pumps = Task.WhenAll(
                Task.Run(() => Pump(child.Stdout, log, null), CancellationToken.None),
                Task.Run(() => Pump(child.Stderr, log, tail), CancellationToken.None));
            var exited = Task.Run(child.Wait, CancellationToken.None);

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(abort);
            if (timeout is { } t)
            {
                limit.CancelAfter(t);
            }
            int exitCode;
            using (limit.Token.Register(() =>
            {
                if (!exited.IsCompleted)
                {
                    KillGroup(child.Pid);
                }
            }))
            {
                exitCode = await exited;
            }

            // Output still in the pipes is read; leftovers that keep them open get a short grace.
            await Task.WhenAny(pumps, Task.Delay(PipeGrace, CancellationToken.None));
            var finished = DateTime.UtcNow;
            if (limit.IsCancellationRequested)
            {
                abort.ThrowIfCancellationRequested();
                var seconds = Config.Duration.Seconds(timeout!.Value.TotalSeconds);
                log.Note($"timed out after {seconds} s: process group killed");
                return new AttemptResult(exitCode, $"timed out after {seconds} s", started, finished);
            }
            var error = exitCode == 0 ? null : LastError(exitCode, tail.Text());
            return new AttemptResult(exitCode, error, started, finished);
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

    /// <summary>The shell leads its own session and process group (pgid = its pid): kill them all.</summary>
    private static void KillGroup(int pid)
    {
        Native.Signal(-pid, SigKill);
    }

    private static void Pump(Stream from, CappedLog to, TailBuffer? tail)
    {
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = from.Read(buffer)) > 0)
            {
                to.Write(buffer.AsSpan(0, read));
                tail?.Add(buffer.AsSpan(0, read));
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The attempt ended and the pipe was torn down: nothing more to capture.
        }
    }

    /// <summary>The last N bytes written, for last_error.</summary>
    private sealed class TailBuffer(int capacity)
    {
        private readonly List<byte> _bytes = new(capacity);

        public void Add(ReadOnlySpan<byte> data)
        {
            lock (_bytes)
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
        }

        public string Text()
        {
            lock (_bytes)
            {
                return Encoding.UTF8.GetString(_bytes.ToArray());
            }
        }
    }
}
