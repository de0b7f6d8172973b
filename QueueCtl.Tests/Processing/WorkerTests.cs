using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>The assignment's scenarios and the worker's lifecycle, with real detached worker processes.</summary>
[Category("EndToEnd")]
public class WorkerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static DateTime Time(JsonElement element, string name) => element.GetProperty(name).GetDateTime().ToUniversalTime();

    [Test]
    public void BasicJob_Completes_WithItsOutputLogged()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", """{"id":"basic","command":"echo out; echo err >&2; echo $GREETING","env":{"GREETING":"hi"}}""");

        var ids = home.StartWorkers(1);
        home.WaitForState("basic", "completed", Deadline);

        var job = home.ReadJob("completed", "basic");
        Assert.Multiple(() =>
        {
            Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("completed"));
            Assert.That(job.GetProperty("attempts").GetInt32(), Is.EqualTo(1));
            Assert.That(job.GetProperty("exit_code").GetInt32(), Is.EqualTo(0));
            Assert.That(Time(job, "finished_at"), Is.GreaterThanOrEqualTo(Time(job, "started_at")));
            Assert.That(job.GetProperty("history").GetArrayLength(), Is.EqualTo(1));
            Assert.That(job.GetProperty("history")[0].GetProperty("worker").GetString(), Is.EqualTo(ids[0]));
            Assert.That(job.TryGetProperty("last_error", out _), Is.False);
            // stdout and stderr are two pipes: their relative order is not defined, only that both are there.
            Assert.That(File.ReadAllLines(home.PathOf("logs", "basic", "attempt-1.log")).Order(), Is.EqualTo(new[] { "err", "hi", "out" }));
        });
    }

    [Test]
    public void Job_RunsInItsCwd()
    {
        using var home = new TempHome(inProcess: false);
        var cwd = Directory.CreateDirectory(Path.Combine(home.Parent, "work dir")).FullName;
        home.Ok("enqueue", JsonSerializer.Serialize(new Dictionary<string, string> { ["id"] = "where", ["command"] = "pwd > here.txt", ["cwd"] = cwd }));

        home.StartWorkers(1);
        home.WaitForState("where", "completed", Deadline);

        Assert.That(File.ReadAllText(Path.Combine(cwd, "here.txt")).Trim(), Is.EqualTo(cwd));
    }

    [Test]
    public void FailingJob_RetriesWithExponentialBackoff_ThenGoesToTheDlq()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "backoff-base", "2");
        home.Ok("enqueue", """{"id":"flaky","command":"echo boom >&2; exit 3","max_retries":2}""");

        home.StartWorkers(1);
        home.WaitForState("flaky", "failed", Deadline);
        var waiting = home.ReadJob("failed", "flaky");
        home.WaitForState("flaky", "dead", Deadline);

        var job = home.ReadJob("dead", "flaky");
        var history = job.GetProperty("history").EnumerateArray().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(waiting.GetProperty("state").GetString(), Is.EqualTo("failed"));
            Assert.That(Time(waiting, "not_before"), Is.EqualTo(Time(waiting, "finished_at").AddSeconds(2)).Within(TimeSpan.FromMilliseconds(5)));
            Assert.That(job.GetProperty("attempts").GetInt32(), Is.EqualTo(3), "1 + max_retries runs");
            Assert.That(job.GetProperty("exit_code").GetInt32(), Is.EqualTo(3));
            Assert.That(job.GetProperty("last_error").GetString(), Does.Contain("exit code 3").And.Contain("boom"));
            Assert.That(history, Has.Count.EqualTo(3));
            Assert.That(File.Exists(home.PathOf("logs", "flaky", "attempt-3.log")), Is.True);
        });
        // base 2: the n-th failure waits 2^n s; the worker must start on time (within 0.5 s), never early.
        var gap1 = Time(history[1], "started_at") - Time(history[0], "finished_at");
        var gap2 = Time(history[2], "started_at") - Time(history[1], "finished_at");
        TestContext.Out.WriteLine($"gaps: {gap1.TotalSeconds:0.000} s, {gap2.TotalSeconds:0.000} s");
        Assert.That(gap1.TotalSeconds, Is.InRange(2.0, 2.5));
        Assert.That(gap2.TotalSeconds, Is.InRange(4.0, 4.5));
    }

    [Test]
    public void InvalidCommand_FailsWith127_AndEndsDead()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", """{"id":"nope","command":"definitely-not-a-command-xyz","max_retries":1}""");
        home.Ok("config", "set", "backoff-base", "1");

        home.StartWorkers(1);
        home.WaitForState("nope", "dead", Deadline);

        var job = home.ReadJob("dead", "nope");
        Assert.That(job.GetProperty("exit_code").GetInt32(), Is.EqualTo(127));
        Assert.That(job.GetProperty("attempts").GetInt32(), Is.EqualTo(2));
        Assert.That(job.GetProperty("last_error").GetString(), Does.Contain("not found"));
    }

    [Test]
    public void ThreeWorkers_RunThreeTwoSecondJobs_InParallel_WithoutOverlap()
    {
        using var home = new TempHome(inProcess: false);
        foreach (var i in new[] { 1, 2, 3 })
        {
            home.Ok("enqueue", "--command", "sleep 2; echo $QUEUECTL_JOB_ID >> runs.txt", "--id", $"s{i}");
        }

        home.StartWorkers(3);
        Eventually.True(() => home.Ids("completed").Count == 3, Deadline, "3 completed jobs");

        var jobs = new[] { "s1", "s2", "s3" }.Select(id => home.ReadJob("completed", id)).ToList();
        var span = jobs.Max(j => Time(j, "finished_at")) - jobs.Min(j => Time(j, "started_at"));
        TestContext.Out.WriteLine($"3 x sleep 2 took {span.TotalSeconds:0.000} s");
        Assert.That(span.TotalSeconds, Is.LessThan(4.0), "well under 6 s: they ran in parallel");
        Assert.That(File.ReadAllLines(Path.Combine(home.Parent, "runs.txt")).Order(), Is.EqualTo(new[] { "s1", "s2", "s3" }), "each ran once");
        Assert.That(jobs.Select(j => j.GetProperty("history")[0].GetProperty("worker").GetString()).Distinct().Count(), Is.EqualTo(3));
    }

    [Test]
    public void JobData_SurvivesAWorkerRestart()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "backoff-base", "3");
        home.Ok("enqueue", """{"id":"persist","command":"test -f flag || { echo not yet >&2; exit 1; }","max_retries":3}""");
        home.Ok("enqueue", """{"id":"later","command":"true"}""");

        home.StartWorkers(1);
        home.WaitForState("persist", "failed", Deadline);
        home.Ok("worker", "stop");
        Assert.That(home.Ids("failed"), Is.EqualTo(new[] { "persist" }));
        File.WriteAllText(Path.Combine(home.Parent, "flag"), "");

        home.StartWorkers(1);
        home.WaitForState("persist", "completed", Deadline);

        var job = home.ReadJob("completed", "persist");
        Assert.That(job.GetProperty("attempts").GetInt32(), Is.EqualTo(2), "the attempt from before the restart still counts");
        Assert.That(job.GetProperty("history").GetArrayLength(), Is.EqualTo(2));
        Assert.That(home.Ids("completed"), Is.EqualTo(new[] { "later", "persist" }));
    }

    [Test]
    public void WorkerStop_LetsTheRunningJobFinish()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "sleep 3; echo finished", "--id", "long");
        var ids = home.StartWorkers(1);
        Eventually.True(() => File.Exists(home.PathOf("processing", ids[0], "long.json")), Deadline, "the job to be claimed");
        Eventually.True(() => File.ReadAllText(home.PathOf("workers", ids[0] + ".json")).Contains("\"busy\""), Deadline, "the job to run");

        var stop = home.Run("worker", "stop", "--timeout", "30s");

        Assert.That(stop.ExitCode, Is.EqualTo(0), stop.ToString());
        Assert.That(stop.Stderr, Does.Contain(ids[0]).And.Contain("long"), "says whom it waits for");
        Assert.That(stop.Stdout, Does.Contain("Stopped 1 worker"));
        var job = home.ReadJob("completed", "long");
        Assert.That(job.GetProperty("exit_code").GetInt32(), Is.EqualTo(0));
        Assert.That(File.ReadAllText(home.PathOf("logs", "long", "attempt-1.log")), Is.EqualTo("finished\n"));
        Assert.That(Directory.EnumerateFileSystemEntries(home.PathOf("workers"), "*.json"), Is.Empty);
        Assert.That(Directory.EnumerateFileSystemEntries(home.PathOf("processing")), Is.Empty);
    }

    [Test]
    public void DetachedWorkers_RegisterAndRunInTheirOwnSession_WithoutTheCallersStdio()
    {
        using var home = new TempHome(inProcess: false);

        var ids = home.StartWorkers(2);

        Assert.That(ids, Has.Count.EqualTo(2));
        Assert.That(ids.Distinct().Count(), Is.EqualTo(2));
        foreach (var id in ids)
        {
            using var record = JsonDocument.Parse(File.ReadAllText(home.PathOf("workers", id + ".json")));
            var root = record.RootElement;
            var pid = root.GetProperty("pid").GetInt32();
            Assert.That(root.GetProperty("host").GetString(), Is.EqualTo(Environment.MachineName));
            Assert.That(root.GetProperty("state").GetString(), Is.EqualTo("idle"));
            Assert.That(root.TryGetProperty("heartbeat_at", out _), Is.True);
            Assert.That(Processes.IsAlive(pid), Is.True, "still running after `worker start` returned");
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            Assert.That(fields[3], Is.EqualTo(pid.ToString()), "session id: it leads its own session");
            Assert.That(new FileInfo($"/proc/{pid}/fd/0").LinkTarget, Is.EqualTo("/dev/null"));
            // One process runs both: its output goes to the first worker's log, each worker writes its own.
            Assert.That(pid, Is.EqualTo(WorkerFiles.Pid(home, ids[0])), "one process for --count 2");
            Assert.That(new FileInfo($"/proc/{pid}/fd/1").LinkTarget, Is.EqualTo(home.PathOf("workers", ids[0] + ".log")));
            Assert.That(File.ReadAllText(home.PathOf("workers", id + ".log")), Does.Contain($"{id} started"));
        }
        var list = home.Json("worker", "list");
        Assert.That(list.EnumerateArray().Select(w => w.GetProperty("id").GetString()).Order(), Is.EqualTo(ids.Order()));
        Assert.That(home.Json("status").GetProperty("workers").GetInt32(), Is.EqualTo(2));
        Assert.That(home.Ok("status"), Does.Contain($"workers     2  (2 on {Environment.MachineName})"));
    }

    [TestCase(15)]
    [TestCase(2)]
    public void ForegroundWorker_StopsGracefullyOnSignal_AfterItsCurrentJob(int signal)
    {
        using var home = new TempHome(inProcess: false);
        using var worker = new ForegroundWorker(home);
        home.Ok("enqueue", "--command", "sleep 2; echo done", "--id", "fg");
        Eventually.True(() => home.Ids("processing").Count == 0 && Directory.EnumerateFiles(home.PathOf("processing"), "*.json", SearchOption.AllDirectories).Any(),
            Deadline, "the job to be claimed");

        Processes.Signal(worker.Process.Id, signal);

        Assert.That(worker.WaitForExit(Deadline), Is.True, worker.Output);
        Assert.That(worker.Process.ExitCode, Is.EqualTo(0), worker.Output);
        Assert.That(home.ReadJob("completed", "fg").GetProperty("exit_code").GetInt32(), Is.EqualTo(0));
        Assert.That(worker.Output, Does.Contain("stopping after the current jobs").And.Contain("stopped"));
        Assert.That(Directory.EnumerateFiles(home.PathOf("workers"), "*.json"), Is.Empty);
    }

    [Test]
    public void HigherPriorityRunsFirst_ThenOldestFirst()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", """{"id":"low-old","command":"echo low-old >> order.txt","created_at":"2025-01-01T00:00:00Z"}""");
        home.Ok("enqueue", """{"id":"high-new","command":"echo high-new >> order.txt","priority":10,"created_at":"2025-01-03T00:00:00Z"}""");
        home.Ok("enqueue", """{"id":"high-old","command":"echo high-old >> order.txt","priority":10,"created_at":"2025-01-02T00:00:00Z"}""");
        home.Ok("enqueue", """{"id":"mid","command":"echo mid >> order.txt","priority":5,"created_at":"2025-01-04T00:00:00Z"}""");
        home.Ok("enqueue", """{"id":"neg","command":"echo neg >> order.txt","priority":-1,"created_at":"2024-01-01T00:00:00Z"}""");

        home.StartWorkers(1);
        Eventually.True(() => home.Ids("completed").Count == 5, Deadline, "5 completed jobs");

        Assert.That(File.ReadAllLines(Path.Combine(home.Parent, "order.txt")), Is.EqualTo(new[] { "high-old", "high-new", "mid", "low-old", "neg" }));
    }

    [Test]
    public void RunningWorkers_SeeConfigSet_WithoutARestart()
    {
        using var home = new TempHome(inProcess: false);
        home.StartWorkers(1);
        home.Ok("enqueue", "--command", "true", "--id", "before");
        home.WaitForState("before", "completed", Deadline);

        home.Ok("config", "set", "job-timeout", "1s");
        home.Ok("config", "set", "max-retries", "0");
        home.Ok("enqueue", "--command", "sleep 20", "--id", "slow");
        home.WaitForState("slow", "dead", Deadline);

        var job = home.ReadJob("dead", "slow");
        Assert.That(job.GetProperty("last_error").GetString(), Is.EqualTo("timed out after 1 s"));
        var duration = Time(job, "finished_at") - Time(job, "started_at");
        Assert.That(duration.TotalSeconds, Is.InRange(0.9, 3.0));
    }

    [Test]
    public void DroppedFile_IsPickedUpWithDefaults_AndAnInvalidOneIsRejected()
    {
        using var home = new TempHome(inProcess: false);
        home.StartWorkers(1);

        File.WriteAllText(home.PathOf("tmp", "drop.json"), """{"command":"echo dropped; pwd > where.txt"}""");
        File.Move(home.PathOf("tmp", "drop.json"), home.PathOf("pending", "drop.json"));
        File.WriteAllText(home.PathOf("pending", "broken.json"), "{ not json");
        home.WaitForState("drop", "completed", Deadline);
        Eventually.True(() => File.Exists(home.PathOf("rejected", "broken.json")), Deadline, "broken.json in rejected/");

        var job = home.ReadJob("completed", "drop");
        Assert.That(job.GetProperty("id").GetString(), Is.EqualTo("drop"));
        Assert.That(job.GetProperty("max_retries").GetInt32(), Is.EqualTo(3));
        Assert.That(job.TryGetProperty("cwd", out _), Is.False, "a dropped job runs in the home of whichever worker runs it");
        Assert.That(File.ReadAllText(home.PathOf("logs", "drop", "attempt-1.log")), Is.EqualTo("dropped\n"));
        Assert.That(File.ReadAllText(home.PathOf("where.txt")).Trim(), Is.EqualTo(home.Root));
        Assert.That(File.ReadAllText(home.PathOf("rejected", "broken.json.reason")), Does.Contain("not valid JSON"));
    }
}
