using System.Diagnostics;
using System.Text.RegularExpressions;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Storage;

/// <summary>
/// Reads the system calls (strace) to prove the write protocol: tmp file, fsync, one rename into
/// place, fsync of the folder. A crash at any point leaves either the old or the new file.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable] // strace of a worker: slow and timing-sensitive under load
public partial class DurabilityTests
{
    [GeneratedRegex(@"openat\(AT_FDCWD, ""(?<path>[^""]+)"", [^)]*\) = (?<fd>\d+)")]
    private static partial Regex Open();

    [Test]
    public void Enqueue_WritesTmp_Fsyncs_RenamesWithoutReplace_ThenFsyncsTheFolder()
    {
        using var home = new TempHome(inProcess: false);
        var trace = Trace(home, ["enqueue", "--command", "true", "--id", "durable", "--home", home.Root]);

        var pendingFile = home.PathOf("pending", "durable.json");
        var (stagedAt, staged, stagedFd) = FindOpen(trace, p => p.StartsWith(home.PathOf("tmp", ".durable.json."), StringComparison.Ordinal));
        var fsyncFile = FindIndex(trace, $"fsync({stagedFd})", stagedAt);
        var rename = FindIndex(trace, $"renameat2(AT_FDCWD, \"{staged}\", AT_FDCWD, \"{pendingFile}\", RENAME_NOREPLACE) = 0", fsyncFile);
        var (dirAt, _, dirFd) = FindOpen(trace, p => p == home.PathOf("pending"), rename);
        var fsyncDir = FindIndex(trace, $"fsync({dirFd})", dirAt);

        Assert.That(new[] { stagedAt, fsyncFile, rename, dirAt, fsyncDir }, Is.Ordered.Ascending);
        Assert.That(File.Exists(pendingFile), Is.True);
    }

    [Test]
    public void WorkerFinish_RewritesInPlaceByExchange_ThenRenamesIntoCompleted_WithFsyncs()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "true", "--id", "traced");
        var trace = TraceWorker(home, "traced");

        var completed = home.PathOf("completed", "traced.json");
        var rename = trace.FindIndex(l => l.Contains("renameat2(") && l.Contains($"\"{completed}\", RENAME_NOREPLACE) = 0"));
        Assert.That(rename, Is.GreaterThan(0), "the finish is a no-replace rename into completed/");
        var claimedPath = Regex.Match(trace[rename], @"renameat2\(AT_FDCWD, ""([^""]+)""").Groups[1].Value;
        Assert.That(claimedPath, Does.Contain("/processing/w-"));
        var exchange = trace.FindLastIndex(rename, l => l.Contains("RENAME_EXCHANGE) = 0") && l.Contains($"\"{claimedPath}\""));
        Assert.That(exchange, Is.GreaterThan(0), "the final state is written by an exchange with the claimed file");
        var staged = Regex.Match(trace[exchange], @"renameat2\(AT_FDCWD, ""([^""]+)""").Groups[1].Value;
        var (openAt, _, fd) = FindOpen(trace, p => p == staged);
        Assert.That(FindIndex(trace, $"fsync({fd})", openAt), Is.LessThan(exchange), "the staged file is flushed before the exchange");
        Assert.That(trace.Skip(rename).Any(l => Regex.IsMatch(l, @"fsync\(\d+\)\s+= 0")), Is.True, "a folder fsync follows the rename");
        Assert.That(File.Exists(completed), Is.True);
    }

    private static List<string> Trace(TempHome home, string[] args)
    {
        var output = Path.Combine(home.Parent, "strace.txt");
        var start = new ProcessStartInfo(StraceOrIgnore()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-f", "-qq", "-e", "trace=openat,fsync,renameat2,rename,link", "-o", output, QueueCtlProcess.Executable }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        Assert.That(process.WaitForExit(TimeSpan.FromSeconds(60)), Is.True);
        Assert.That(process.ExitCode, Is.EqualTo(0), process.StandardError.ReadToEnd());
        return File.ReadAllLines(output).ToList();
    }

    private static List<string> TraceWorker(TempHome home, string jobId)
    {
        var output = Path.Combine(home.Parent, "strace.txt");
        var start = new ProcessStartInfo(StraceOrIgnore()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-f", "-qq", "-e", "trace=openat,fsync,renameat2,rename,link", "-o", output,
                     QueueCtlProcess.Executable, "worker", "start", "--foreground", "--home", home.Root })
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        try
        {
            home.WaitForState(jobId, "completed", TimeSpan.FromSeconds(60));
        }
        finally
        {
            foreach (var pid in Processes.WithCommandLineContaining(home.Root).Where(p => !File.ReadAllText($"/proc/{p}/cmdline").StartsWith("strace", StringComparison.Ordinal)))
            {
                Processes.Signal(pid, 15);
            }
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                process.Kill(entireProcessTree: true);
            }
        }
        return File.ReadAllLines(output).ToList();
    }

    private static string StraceOrIgnore()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var candidate = Path.Combine(dir, "strace");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        Assert.Ignore("strace is not installed (.ci/run installs it).");
        return "";
    }

    private static (int Index, string Path, string Fd) FindOpen(List<string> trace, Func<string, bool> path, int after = 0)
    {
        for (var i = after; i < trace.Count; i++)
        {
            var match = Open().Match(trace[i]);
            if (match.Success && path(match.Groups["path"].Value))
            {
                return (i, match.Groups["path"].Value, match.Groups["fd"].Value);
            }
        }
        Assert.Fail("Expected open not found in the trace.");
        return default;
    }

    private static int FindIndex(List<string> trace, string text, int after)
    {
        var index = trace.FindIndex(after, l => l.Contains(text, StringComparison.Ordinal));
        Assert.That(index, Is.GreaterThanOrEqualTo(0), $"'{text}' after line {after} of the trace");
        return index;
    }
}
