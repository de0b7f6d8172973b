using System.Diagnostics;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Hostile;

/// <summary>Hostile and unlucky input (issue 15): a clear sentence or correct handling, nothing lost, no stack trace.</summary>
[Category("EndToEnd")]
[NonParallelizable] // remounts folders read-only
public class StorageHostileTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>Drops a file the safe way: written under a hidden name, then renamed into pending/.</summary>
    private static void Drop(TempHome home, string name, string content)
    {
        var staged = home.PathOf("pending", "." + name + ".part");
        File.WriteAllText(staged, content);
        File.Move(staged, home.PathOf("pending", name));
    }

    private static CliResult RunWithin(TempHome home, TimeSpan within, params string[] args) =>
        QueueCtlProcess.Run([.. args, "--home", home.Root], workingDirectory: home.Parent, timeout: within);

    [TestCase("dup.json")]
    [TestCase("other-name.json")]
    public void DroppedFile_WithTheIdOfARunningJob_IsRejected_AndTheRunningJobFinishes(string name)
    {
        using var home = new TempHome(inProcess: false);
        var marks = Path.Combine(home.Parent, "marks.txt");
        using var worker = new ForegroundWorker(home, count: 2);
        home.Ok("enqueue", "--id", "dup", "--command", $"echo start >> {marks}; sleep 3; echo end >> {marks}");
        Eventually.True(() => File.Exists(marks), Deadline, "the job to start");
        var running = Directory.GetFiles(home.PathOf("processing"), "dup.json", SearchOption.AllDirectories);
        Assert.That(running, Has.Length.EqualTo(1), "the job runs in one worker's folder");

        Drop(home, name, $$"""{"id":"dup","command":"echo start >> {{marks}}; echo end >> {{marks}}"}""");
        Eventually.True(() => File.Exists(home.PathOf("rejected", name + ".reason")), Deadline, "the duplicate in rejected/");
        home.WaitForState("dup", "completed", Deadline);

        var reason = File.ReadAllText(home.PathOf("rejected", name + ".reason"));
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllText(marks), Is.EqualTo("start\nend\n"), "the command ran once");
            Assert.That(reason, Does.Contain("'dup'").And.Contain($"processing/{Path.GetFileName(Path.GetDirectoryName(running[0]))}/"));
            Assert.That(File.Exists(home.PathOf("rejected", name)), Is.True);
            Assert.That(home.Ids("pending"), Is.Empty);
            Assert.That(Directory.GetFiles(home.PathOf("processing"), "*.json", SearchOption.AllDirectories), Is.Empty);
            Assert.That(home.ReadJob("completed", "dup").GetProperty("attempts").GetInt32(), Is.EqualTo(1));
        });
    }

    [Test]
    public void Fifo_InPending_HangsNothing_AndEndsInRejected()
    {
        using var home = new TempHome(inProcess: false);
        using (var mkfifo = Process.Start("mkfifo", [home.PathOf("pending", "pipe.json")]))
        {
            mkfifo.WaitForExit();
            Assert.That(mkfifo.ExitCode, Is.EqualTo(0));
        }
        home.Ok("enqueue", "--id", "normal", "--command", "true");

        var list = RunWithin(home, TimeSpan.FromSeconds(15), "list");
        Assert.That(list.ExitCode, Is.EqualTo(0), list.ToString());
        Assert.That(list.Stdout, Does.Contain("pipe").And.Contain("not a regular file"));

        home.StartWorkers(1);
        home.WaitForState("normal", "completed", Deadline);
        Eventually.True(() => File.Exists(home.PathOf("rejected", "pipe.json.reason")), Deadline, "the FIFO in rejected/");
        Assert.That(File.ReadAllText(home.PathOf("rejected", "pipe.json.reason")), Does.Contain("FIFO").And.Contain("not a regular file"));

        var stop = RunWithin(home, TimeSpan.FromSeconds(30), "worker", "stop", "--timeout", "20s");
        Assert.That(stop.ExitCode, Is.EqualTo(0), stop.ToString());
        Assert.That(RunWithin(home, TimeSpan.FromSeconds(15), "list").ExitCode, Is.EqualTo(0));
    }

    [Test]
    public void UntrustedText_CannotForgeLinesInTheWorkerLog()
    {
        using var home = new TempHome(inProcess: false);
        const string Forged = "2030-01-01T00:00:00Z w-forged";
        using var worker = new ForegroundWorker(home);
        // A key with an escaped newline: the rejection reason quotes it.
        Drop(home, "forged.json", $$"""{"command":"true","x\n{{Forged}} job1 completed":1}""");
        // A command with a real newline: "running …: <command>" quotes it.
        home.Ok("enqueue", "--id", "multi", "--command", $"true\n{Forged} job2 completed 2>/dev/null || true");

        home.WaitForState("multi", "completed", Deadline);
        Eventually.True(() => File.Exists(home.PathOf("rejected", "forged.json")), Deadline, "the forged file in rejected/");
        Eventually.True(() => worker.Output.Contains("multi completed") && worker.Output.Contains("rejected forged.json"), Deadline, "both log lines");

        var lines = worker.Output.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(lines.Where(l => l.StartsWith(Forged, StringComparison.Ordinal)), Is.Empty);
            Assert.That(lines.Where(l => l.Contains($"\\n{Forged} job1", StringComparison.Ordinal)).ToList(), Has.Count.EqualTo(1));
            Assert.That(lines.Where(l => l.Contains($"true\\n{Forged} job2", StringComparison.Ordinal)).ToList(), Has.Count.EqualTo(1));
        });
    }

    private static CliResult RunShared(TempHome home, params string[] args) =>
        QueueCtlProcess.Run([.. args, "--home", home.Root], workingDirectory: home.Parent,
            environment: new Dictionary<string, string?> { ["QUEUECTL_SHARED_HOME"] = "1" });

    private static void AssertRefused(CliResult result, params string[] phrases)
    {
        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr.Trim().Split('\n'), Has.Length.EqualTo(1), "one sentence: " + result.Stderr);
        foreach (var phrase in phrases)
        {
            Assert.That(result.Stderr, Does.Contain(phrase));
        }
    }

    [Test]
    public void WorldWritableHome_IsRefused_AndNothingChanges()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--id", "planted", "--command", "true");
        File.SetUnixFileMode(home.Root, (UnixFileMode)0x1FF);
        var before = home.Tree();

        Assert.Multiple(() =>
        {
            AssertRefused(home.Run("worker", "start"), "mode 0777", $"chmod 700 {home.Root}");
            AssertRefused(home.Run("worker", "start", "--foreground"), "mode 0777");
            AssertRefused(home.Run("status"), "writable by every user");
            AssertRefused(home.Run("list"), "mode 0777");
            AssertRefused(home.Run("enqueue", "--command", "true"), "mode 0777");
            AssertRefused(RunShared(home, "status"), "mode 0777");
        });
        Assert.That(home.Tree(), Is.EqualTo(before));
        Assert.That(Processes.WithCommandLineContaining(home.Root), Is.Empty, "no worker started");
        Assert.That(home.Ids("pending"), Is.EqualTo(new[] { "planted" }));
    }

    [Test]
    public void HomeOfAnotherUser_IsRefused_UnlessSharedOnPurpose()
    {
        using var home = new TempHome(inProcess: false);
        using (var chown = Process.Start("chown", ["65534", home.Root]))
        {
            chown.WaitForExit();
            Assert.That(chown.ExitCode, Is.EqualTo(0), "the test runs as root");
        }
        var before = home.Tree();

        Assert.Multiple(() =>
        {
            AssertRefused(home.Run("worker", "start"), "uid 65534", "chmod 700");
            AssertRefused(home.Run("list"), "belongs to");
            AssertRefused(home.Run("dlq", "retry", "--all"), "uid 65534");
        });
        Assert.That(home.Tree(), Is.EqualTo(before));
        Assert.That(Processes.WithCommandLineContaining(home.Root), Is.Empty, "no worker started");

        var shared = RunShared(home, "status");
        Assert.That(shared.ExitCode, Is.EqualTo(0), shared.ToString());
    }

    [Test]
    public void GroupWritableHome_IsRefused_UnlessSharedOnPurpose()
    {
        using var home = new TempHome(inProcess: false);
        File.SetUnixFileMode(home.Root, (UnixFileMode)0x1F8); // 0770

        AssertRefused(home.Run("status"), "mode 0770", "writable by its group", "QUEUECTL_SHARED_HOME=1");
        var shared = RunShared(home, "status");
        Assert.That(shared.ExitCode, Is.EqualTo(0), shared.ToString());
    }

    [Test]
    public void DlqRetryAll_FromTwoShellsAtOnce_RetriesEveryJobOnce_AndBothSucceed()
    {
        using var home = new TempHome(inProcess: false);
        const int Jobs = 200;
        home.RunWithInput(string.Concat(Enumerable.Range(0, Jobs).Select(i => $$"""{"id":"d{{i:D3}}","command":"false"}""" + "\n")), "enqueue", "-");
        foreach (var path in Directory.GetFiles(home.PathOf("pending")))
        {
            File.WriteAllText(home.PathOf("dead", Path.GetFileName(path)), File.ReadAllText(path).Replace("\"pending\"", "\"dead\""));
            File.Delete(path);
        }
        Assert.That(home.Ids("dead"), Has.Count.EqualTo(Jobs));

        var both = new[] { 0, 1 }.Select(_ => Task.Run(() => home.Run("dlq", "retry", "--all"))).ToArray();
        Task.WaitAll(both);

        var named = both.SelectMany(t => t.Result.Stdout.Split('\n'))
            .Where(l => l.EndsWith(": pending again", StringComparison.Ordinal))
            .Select(l => l[..l.IndexOf(':')])
            .ToList();
        Assert.Multiple(() =>
        {
            Assert.That(both.Select(t => t.Result.ExitCode), Is.All.EqualTo(0), string.Join("\n", both.Select(t => t.Result.ToString())));
            Assert.That(home.Ids("pending"), Has.Count.EqualTo(Jobs));
            Assert.That(home.Ids("dead"), Is.Empty);
            Assert.That(named.Order(), Is.EqualTo(home.Ids("pending")), "each job named once by one of the two");
            Assert.That(both.Select(t => t.Result.Stderr), Is.All.Empty);
        });
    }

    [Test]
    public void Recover_RemovesStaleTmpFiles_AndFoldersOfWorkersThatDiedAtStart_ButKeepsFreshOnesAndLiveWorkers()
    {
        using var home = new TempHome(inProcess: false);
        var live = home.StartWorkers(1)[0];
        var liveStaging = home.PathOf("tmp", live);
        Eventually.True(() => Directory.Exists(liveStaging), Deadline, "the live worker's staging folder");
        var old = DateTime.UtcNow - TimeSpan.FromHours(40);

        var oldFile = home.PathOf("tmp", "enqueue-died.json");
        File.WriteAllText(oldFile, """{"command":"half""");
        File.SetLastWriteTimeUtc(oldFile, old);
        var freshFile = home.PathOf("tmp", "enqueue-now.json");
        File.WriteAllText(freshFile, "{}");
        File.SetLastWriteTimeUtc(freshFile, DateTime.UtcNow - TimeSpan.FromHours(2));
        var deadStaging = home.PathOf("tmp", "w-dead");
        Directory.CreateDirectory(deadStaging);
        File.WriteAllText(Path.Combine(deadStaging, "staged"), "x");
        Directory.SetLastWriteTimeUtc(deadStaging, DateTime.UtcNow - TimeSpan.FromHours(2));
        var youngStaging = home.PathOf("tmp", "w-starting");
        Directory.CreateDirectory(youngStaging);
        Directory.SetLastWriteTimeUtc(liveStaging, old);

        var output = home.Ok("recover");

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("Removed 2 stale entries from tmp/"));
            Assert.That(File.Exists(oldFile), Is.False, "a staged file older than 36 h");
            Assert.That(Directory.Exists(deadStaging), Is.False, "an unregistered worker's folder older than 1 h");
            Assert.That(File.Exists(freshFile), Is.True, "a staged file younger than 36 h");
            Assert.That(Directory.Exists(youngStaging), Is.True, "an unregistered folder younger than 1 h");
            Assert.That(Directory.Exists(liveStaging), Is.True, "a live worker's folder, however old");
        });
        home.Ok("enqueue", "--id", "after", "--command", "true");
        home.WaitForState("after", "completed", Deadline);
        home.Ok("worker", "stop");
    }

    [Test]
    public void Status_CountsAKilledWorkerAsDead_NotRunning()
    {
        using var home = new TempHome(inProcess: false);
        var worker = home.StartWorkers(1)[0];
        var pid = WorkerFiles.Pid(home, worker);
        Processes.Signal(pid, 9);
        Eventually.True(() => !Processes.IsAlive(pid), Deadline, "the worker to die");

        var status = home.Json("status");
        var text = home.Ok("status");
        var list = home.Json("worker", "list");
        Assert.Multiple(() =>
        {
            Assert.That(status.GetProperty("workers").GetInt32(), Is.EqualTo(0), "no live worker");
            Assert.That(status.GetProperty("workers_dead").GetInt32(), Is.EqualTo(1));
            Assert.That(text, Does.Contain($"1 dead: {worker}"));
            Assert.That(list[0].GetProperty("state").GetString(), Is.EqualTo("dead"));
        });
    }

    [Test]
    public void SecondWorkerStop_SaysWhichJobsItKilled_AndLeavesThemToRecovery()
    {
        using var home = new TempHome(inProcess: false);
        var worker = home.StartWorkers(1)[0];
        home.Ok("enqueue", "--id", "long", "--command", "sleep 60");
        Eventually.True(() => File.Exists(home.PathOf("processing", worker, "long.json"))
            && File.ReadAllText(home.PathOf("workers", worker + ".json")).Contains("\"busy\""), Deadline, "the job to run");

        var first = home.Run("worker", "stop", "--timeout", "1s");
        Assert.That(first.ExitCode, Is.EqualTo(1), first.ToString());
        Assert.That(first.Stderr, Does.Contain("again to stop at once"));

        var second = home.Run("worker", "stop", "--timeout", "20s");
        Assert.That(second.ExitCode, Is.EqualTo(0), second.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(second.Stdout, Does.Contain($"Stopped 1 worker at once: {worker} (killed long: left in processing/{worker}/ for recovery"));
            Assert.That(second.Stdout, Does.Not.Contain("Stopped 1 worker."));
            Assert.That(second.Stderr, Does.Contain("killing long"));
            Assert.That(File.Exists(home.PathOf("processing", worker, "long.json")), Is.True);
            Assert.That(Directory.EnumerateFiles(home.PathOf("workers"), "*.stopping"), Is.Empty);
        });

        var third = home.Run("worker", "stop");
        Assert.That(third.Stdout, Does.Contain("No workers are running."));
    }
}
