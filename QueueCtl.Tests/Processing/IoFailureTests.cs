using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>A read-only home or a vanished folder: one clear error on the CLI; a worker keeps its job.</summary>
[Category("EndToEnd")]
[NonParallelizable] // short leases while the file system fails
public class IoFailureTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [TestCase("enqueue", "--command", "true")]
    [TestCase("config", "set", "max-retries", "2")]
    public void Cli_OnAReadOnlyHome_SaysSoInOneLine_WithExit1_AndChangesNothing(params string[] args)
    {
        using var home = new TempHome(inProcess: false);
        var before = home.Tree();
        using var readOnly = new ReadOnlyMount(home.Root);

        var result = home.Run(args);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(result.Stderr, Does.Contain("Read-only file system"));
        readOnly.Dispose();
        Assert.That(home.Tree(), Is.EqualTo(before));
    }

    [Test]
    public void JobWhoseLogCannotBeWritten_StillRunsAndFinishes()
    {
        using var home = new TempHome(inProcess: false);
        File.WriteAllText(home.PathOf("logs", "unlogged"), "not a folder"); // logs/<id>/ cannot be made, even by root
        home.Ok("enqueue", "--command", "echo lost; echo kept > kept.txt; echo err >&2; exit 3", "--id", "unlogged", "--max-retries", "0");

        home.StartWorkers(1);
        home.WaitForState("unlogged", "dead", Deadline);
        home.Ok("worker", "stop");

        var job = home.ReadJob("dead", "unlogged");
        Assert.That(job.GetProperty("exit_code").GetInt32(), Is.EqualTo(3), "the attempt ran to its end");
        Assert.That(job.GetProperty("last_error").GetString(), Does.Contain("err"), "stderr's tail is kept without a log file");
        Assert.That(File.Exists(Path.Combine(home.Parent, "kept.txt")), Is.True, "the job ran in the folder it was enqueued from");
    }

    [Test]
    public void Cli_WithAHomeWhoseParentIsMissing_FailsClearly()
    {
        using var scratch = new TempHome(create: false, inProcess: false);
        var nowhere = Path.Combine(scratch.Parent, "missing", "home");

        var result = QueueCtlProcess.Run(["enqueue", "--command", "true", "--home", nowhere]);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Stderr, Does.Contain("its parent folder does not exist"));
        Assert.That(Directory.Exists(Path.Combine(scratch.Parent, "missing")), Is.False);
    }

    [Test]
    public void Worker_WhoseHomeTurnsReadOnlyMidJob_KeepsTheResult_AndRecordsItOnceWritable()
    {
        using var home = new TempHome(inProcess: false);
        var worker = home.StartWorkers(1)[0];
        var pid = WorkerFiles.Pid(home, worker);
        home.Ok("enqueue", "--command", "sleep 1.37", "--id", "ro");
        Eventually.True(() => Processes.WithCommandLineContaining("sleep 1.37").Count > 0, Deadline, "the job to run");

        using (new ReadOnlyMount(home.Root))
        {
            Eventually.True(() => Processes.WithCommandLineContaining("sleep 1.37").Count == 0, Deadline, "the command to end");
            // The scenario itself: the disk stays read-only for a while after the command ended,
            // so the worker's first attempts to record the result fail.
            Thread.Sleep(TimeSpan.FromSeconds(2));
            Assert.That(Processes.IsAlive(pid), Is.True, "the worker survives a read-only home");
            Assert.That(File.Exists(home.PathOf("processing", worker, "ro.json")), Is.True, "the job stays claimed");
            Assert.That(File.Exists(home.PathOf("completed", "ro.json")), Is.False);
        }

        home.WaitForState("ro", "completed", Deadline);
        Assert.That(File.ReadAllText(home.PathOf("workers", worker + ".log")), Does.Contain("could not record the result yet"));
        Assert.That(home.ReadJob("completed", "ro").GetProperty("exit_code").GetInt32(), Is.EqualTo(0));
        Assert.That(Processes.IsAlive(pid), Is.True);
    }

    [Test]
    public void Worker_WhoseSettingsCannotBeRead_KeepsItsLastGoodSettings_AndItsHeartbeat()
    {
        // On a network file system that lost its server every read fails (ENOTCONN) until the
        // connection is back; a worker that let that escape from reading config.json lost its
        // heartbeat for good (found by the multi-host stage). Here config.json becomes a symlink
        // to itself (ELOOP on every read), swapped in with one rename so no read sees it missing.
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "max-retries", "0");
        home.Ok("config", "set", "worker-lease", "3s");
        var worker = home.StartWorkers(1)[0];
        var record = home.PathOf("workers", worker + ".json");
        Eventually.True(() => File.Exists(record), Deadline, "the worker to register");

        var loop = home.PathOf("tmp", "config-loop");
        File.CreateSymbolicLink(loop, "config.json");
        File.Move(loop, home.PathOf("config.json"), overwrite: true);
        Assert.That(() => File.ReadAllBytes(home.PathOf("config.json")), Throws.InstanceOf<IOException>());
        var swappedAt = File.GetLastWriteTimeUtc(record);

        // A dropped job takes its max_retries from the worker's settings: 0 (the last good ones)
        // sends a failing job to dead/ at once; the defaults would retry it.
        File.WriteAllText(home.PathOf("tmp", "late.json"), """{"id": "late", "command": "exit 1"}""");
        File.Move(home.PathOf("tmp", "late.json"), home.PathOf("pending", "late.json"));
        home.WaitForState("late", "dead", Deadline);
        Assert.That(home.ReadJob("dead", "late").GetProperty("max_retries").GetInt32(), Is.EqualTo(0));

        Eventually.True(() => File.GetLastWriteTimeUtc(record) > swappedAt.AddSeconds(2), Deadline,
            "the heartbeat to go on rewriting the worker's record");
        Assert.That(Processes.IsAlive(WorkerFiles.Pid(home, worker)), Is.True);
        File.Delete(home.PathOf("config.json")); // lets worker stop read its settings again
        home.Ok("worker", "stop");
    }

    [Test]
    public void Worker_WhoseHeartbeatKeepsFailing_LogsItOnce_AndOnceWhenItWorksAgain()
    {
        // An outage of a network file system can last an hour: one line per failed heartbeat
        // would bury the log. The worker's log stays writable here (its descriptor predates the
        // read-only bind mount); new files in the home, such as the heartbeat's, do not.
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "worker-lease", "1s"); // a heartbeat every 0.33 s
        var worker = home.StartWorkers(1)[0];
        var log = home.PathOf("workers", worker + ".log");
        using (new ReadOnlyMount(home.Root))
        {
            Eventually.True(() => File.ReadAllText(log).Contains("heartbeat failed", StringComparison.Ordinal), Deadline, "a failed heartbeat");
            // The scenario itself: about six more heartbeats fail while the home stays read-only.
            Thread.Sleep(TimeSpan.FromSeconds(2));
        }
        Eventually.True(() => File.ReadAllText(log).Contains("heartbeat works again", StringComparison.Ordinal), Deadline, "the heartbeat to work again");

        var text = File.ReadAllText(log);
        Assert.That(System.Text.RegularExpressions.Regex.Count(text, "heartbeat failed"), Is.EqualTo(1), text);
        Assert.That(text, Does.Match(@"heartbeat works again after [2-9] s of failures"));
        Assert.That(Processes.IsAlive(WorkerFiles.Pid(home, worker)), Is.True);
        home.Ok("worker", "stop");
    }

    [Test]
    public void Worker_SurvivesAVanishedPendingFolder_AndRunsJobsOnceItIsBack()
    {
        using var home = new TempHome(inProcess: false);
        var worker = home.StartWorkers(1)[0];

        Directory.Delete(home.PathOf("pending"));
        Eventually.True(() => File.ReadAllText(home.PathOf("workers", worker + ".log")).Contains("I/O error", StringComparison.Ordinal),
            Deadline, "the worker to notice");
        home.Ok("enqueue", "--command", "true", "--id", "back");

        home.WaitForState("back", "completed", Deadline);
        Assert.That(Processes.IsAlive(WorkerFiles.Pid(home, worker)), Is.True);
    }
}
