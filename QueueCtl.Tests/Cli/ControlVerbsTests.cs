using System.Diagnostics;
using System.Text;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>wait, cancel, remove and retry (issue 16 items 3 and 4), with the real CLI and real workers.</summary>
[Category("EndToEnd")]
public class ControlVerbsTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    /// <summary>Pids on this host whose environment carries the job's mark (every process of its attempts).</summary>
    private static List<int> ProcessesOfJob(string jobId)
    {
        var mark = Encoding.UTF8.GetBytes($"QUEUECTL_JOB_ID={jobId}\0");
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid))
            {
                continue;
            }
            try
            {
                var environment = File.ReadAllBytes(Path.Combine(entry, "environ"));
                if (environment.AsSpan().IndexOf(mark) >= 0 && Processes.IsAlive(pid))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone, or not ours
            }
        }
        return found;
    }

    private static string[] CancelFiles(TempHome home) =>
        Directory.GetFiles(home.PathOf("processing"), "*.cancel", SearchOption.AllDirectories);

    /// <summary>The worker removes a request just after it has moved the job (the finish comes first): wait for it.</summary>
    private static void AssertRequestsRemoved(TempHome home) =>
        Eventually.True(() => CancelFiles(home).Length == 0, TimeSpan.FromSeconds(5), "the cancel requests to be removed once their jobs are dead");

    [Test]
    public void WaitQueue_Default_WaitsForEveryUnfinishedJob_AnotherQueueHasNone()
    {
        using var home = new TempHome(inProcess: false);
        // q1 runs first and outlasts the start of `wait` (which reports only jobs unfinished when it starts).
        home.Ok("enqueue", "--command", "sleep 2.5", "--id", "q1");
        home.Ok("enqueue", "--command", "exit 3", "--id", "q2", "--max-retries", "0");

        var empty = home.Run("wait", "--queue", "nightly", "--timeout", "5s");
        Assert.That(empty.ExitCode, Is.EqualTo(0), "jobs without a queue are in 'default': queue nightly has none");
        Assert.That(home.Run("wait", "--queue", "bad name").ExitCode, Is.EqualTo(2));

        using var worker = new ForegroundWorker(home);
        var result = home.Run("wait", "--queue", "default", "--timeout", "20s");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stdout, Does.Contain("q1 completed").And.Contain("q2 dead"));
    }

    [Test]
    public void Wait_ReturnsZeroOneOr124_PromptlyAfterTheJobsFinish()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "sleep 1", "--id", "good", "--max-retries", "0");
        home.Ok("enqueue", "--command", "sleep 1; echo broken >&2; exit 3", "--id", "bad", "--max-retries", "0");
        home.Ok("enqueue", "--command", "sleep 60", "--id", "slow", "--max-retries", "0", "--delay", "1h");

        var unknown = home.Run("wait", "good", "nosuch");
        Assert.That(unknown.ExitCode, Is.EqualTo(1), unknown.ToString());
        Assert.That(unknown.Stderr, Does.Contain("nosuch"));
        Assert.That(unknown.Stdout, Is.Empty);

        using var worker = new ForegroundWorker(home, count: 2);
        var good = Task.Run(() => (home.Run("wait", "good"), DateTime.UtcNow));
        var bad = Task.Run(() => (home.Run("wait", "good", "bad"), DateTime.UtcNow));

        var (goodResult, goodEnded) = good.Result;
        Assert.That(goodResult.ExitCode, Is.EqualTo(0), goodResult.ToString());
        Assert.That(goodResult.Stdout, Is.EqualTo("good completed\n"));
        var finished = home.ReadJob("completed", "good").GetProperty("finished_at").GetDateTime().ToUniversalTime();
        Assert.That(goodEnded - finished, Is.LessThan(TimeSpan.FromSeconds(2)), "wait returned promptly after the job finished");

        var (badResult, badEnded) = bad.Result;
        Assert.That(badResult.ExitCode, Is.EqualTo(1), badResult.ToString());
        Assert.That(badResult.Stdout, Does.Contain("good completed\n").And.Contain("bad dead: exit code 3: broken\n"));
        var died = home.ReadJob("dead", "bad").GetProperty("finished_at").GetDateTime().ToUniversalTime();
        Assert.That(badEnded - died, Is.LessThan(TimeSpan.FromSeconds(2)));

        var watch = Stopwatch.StartNew();
        var timedOut = home.Run("wait", "slow", "--timeout", "1s");
        Assert.That(timedOut.ExitCode, Is.EqualTo(124), timedOut.ToString());
        Assert.That(timedOut.Stderr, Does.Contain("timed out").And.Contain("slow"));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));

        var json = home.Run("wait", "good", "bad", "--json");
        Assert.That(json.ExitCode, Is.EqualTo(1));
        using var document = System.Text.Json.JsonDocument.Parse(json.Stdout);
        Assert.That(document.RootElement.EnumerateArray().Select(e => e.GetProperty("state").GetString()), Is.EqualTo(new[] { "completed", "dead" }));
    }

    [Test]
    public void WaitAll_WaitsForEveryUnfinishedJob_AndAJobRemovedMeanwhileIsGone()
    {
        using var home = new TempHome(inProcess: false);
        for (var i = 0; i < 5; i++)
        {
            // Due in 3 s: none can finish before `wait --all` has taken its list.
            home.Ok("enqueue", "--command", $"sleep 0.{i}", "--id", $"j{i}", "--delay", "3s");
        }
        home.Ok("enqueue", "--command", "true", "--id", "later", "--delay", "1h");
        var waitingForRemoved = Task.Run(() => home.Run("wait", "later"));
        var all = Task.Run(() => home.Run("wait", "--all", "--timeout", "30s"));
        using (var worker = new ForegroundWorker(home, count: 2))
        {
            // The scheduled one is part of --all: remove it while both waits wait.
            Eventually.True(() => home.Ids("completed").Count == 5, Deadline, "the five ready jobs to complete");
            home.Ok("remove", "later");
            var result = all.Result;
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(6));
            Assert.That(result.Stdout, Does.Contain("later is gone"));
        }
        var removed = waitingForRemoved.Result;
        Assert.That(removed.ExitCode, Is.EqualTo(1), removed.ToString());
        Assert.That(removed.Stdout, Does.Contain("later is gone"));
    }

    [Test]
    public void Cancel_ARunningJob_KillsItsWholeTree_GoesDead_IsNotRetried_AndDlqRetryRunsIt()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "backoff-base", "1");
        var marker = Path.Combine(home.Parent, "ran-once");
        // The first run starts a child in its own session (setsid) and sleeps; a later run completes at once.
        home.Ok("enqueue", "--command", $"test -e {marker} || {{ touch {marker}; setsid sleep 301 & sleep 300; }}", "--id", "long", "--max-retries", "3");
        using var worker = new ForegroundWorker(home);
        Eventually.True(() => ProcessesOfJob("long").Count >= 3, Deadline, "the job's shell, its sleep and its setsid child");

        var result = home.Run("cancel", "long");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Is.EqualTo("long cancelled\n"));
        Assert.That(ProcessesOfJob("long"), Is.Empty, "no process of the run remains");
        var dead = home.ReadJob("dead", "long");
        Assert.Multiple(() =>
        {
            Assert.That(dead.GetProperty("last_error").GetString(), Does.StartWith("cancelled by the user"));
            Assert.That(dead.GetProperty("attempts").GetInt32(), Is.EqualTo(1));
            Assert.That(dead.GetProperty("history")[0].GetProperty("outcome").GetString(), Is.EqualTo("dead"));
            AssertRequestsRemoved(home);
        });

        // Not retried: a job enqueued to run after the backoff (1 s) has passed completes, and the cancelled one is still dead.
        home.Ok("enqueue", "--command", "true", "--id", "after-backoff", "--delay", "2s");
        home.WaitForState("after-backoff", "completed", Deadline);
        Assert.That(home.Ids("dead"), Is.EqualTo(new[] { "long" }));
        Assert.That(ProcessesOfJob("long"), Is.Empty);

        home.Ok("dlq", "retry", "long");
        home.WaitForState("long", "completed", Deadline);
        Assert.That(home.ReadJob("completed", "long").GetProperty("history").GetArrayLength(), Is.EqualTo(2));
    }

    [Test]
    public void Cancel_WaitingJobs_GoDeadWithoutAnAttempt_UnknownAndFinishedAreNamed()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "backoff-base", "100");
        home.Ok("enqueue", "--command", "exit 1", "--id", "flaky", "--max-retries", "3");
        home.Ok("enqueue", "--command", "true", "--id", "done");
        using (var worker = new ForegroundWorker(home))
        {
            home.WaitForState("flaky", "failed", Deadline);
            home.WaitForState("done", "completed", Deadline);
        }
        home.Ok("enqueue", "--command", "true", "--id", "ready");
        home.Ok("enqueue", "--command", "true", "--id", "scheduled", "--delay", "1h");

        var result = home.Run("cancel", "ready", "scheduled", "nosuch", "flaky", "done");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stdout, Is.EqualTo("ready cancelled\nscheduled cancelled\nflaky cancelled\n"));
        Assert.That(result.Stderr, Does.Contain("'nosuch'").And.Contain("'done' is already finished (completed)"));
        Assert.That(home.Ids("dead"), Is.EqualTo(new[] { "flaky", "ready", "scheduled" }));
        Assert.That(home.Ids("completed"), Is.EqualTo(new[] { "done" }));
        Assert.That(Directory.GetDirectories(home.PathOf("processing")).Select(Path.GetFileName), Has.None.StartWith("cancel-"), "the private folder is gone");
        var flaky = home.ReadJob("dead", "flaky");
        Assert.That(flaky.GetProperty("attempts").GetInt32(), Is.EqualTo(1), "cancelling a waiting job counts no attempt");
        Assert.That(flaky.GetProperty("last_error").GetString(), Does.StartWith("cancelled by the user"));
        Assert.That(home.ReadJob("dead", "ready").TryGetProperty("history", out _), Is.False);

        var invalid = home.Run("cancel", "ok-id", "bad id");
        Assert.That(invalid.ExitCode, Is.EqualTo(2), invalid.ToString());
    }

    [Test]
    public void CancelRequest_FromAnotherHost_IsSeenByTheWorkerAtItsHeartbeat()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "worker-lease", "4s"); // heartbeat every second
        home.Ok("enqueue", "--command", "sleep 300", "--id", "remote", "--max-retries", "3");
        using var worker = new ForegroundWorker(home);
        Eventually.True(() => ProcessesOfJob("remote").Count > 0, Deadline, "the job to run");
        var folder = Directory.GetDirectories(home.PathOf("processing")).Single();

        // What `cancel` on another host leaves (it cannot kill processes here): only the request, written atomically.
        var staged = Path.Combine(home.Parent, "request");
        File.WriteAllText(staged, "cancelled by the user (queuectl cancel on host elsewhere)\n");
        File.Move(staged, Path.Combine(folder, "remote.cancel"));

        home.WaitForState("remote", "dead", TimeSpan.FromSeconds(10));
        Assert.That(home.ReadJob("dead", "remote").GetProperty("last_error").GetString(),
            Does.StartWith("cancelled by the user (queuectl cancel on host elsewhere)"));
        Eventually.True(() => ProcessesOfJob("remote").Count == 0, TimeSpan.FromSeconds(5), "no process of the run left");
        AssertRequestsRemoved(home);
    }

    [Test]
    public void Cancel_OfADeadWorkersJob_IsFinishedAsCancelledByRecovery()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "worker-lease", "4s");
        home.Ok("enqueue", "--command", "sleep 300", "--id", "orphan", "--max-retries", "3");
        var worker = home.StartWorkers(1).Single();
        Eventually.True(() => ProcessesOfJob("orphan").Count > 0, Deadline, "the job to run");
        var workerPid = home.ReadJob("workers", worker).GetProperty("pid").GetInt32();
        Processes.Signal(workerPid, 9);
        Eventually.True(() => !Processes.IsAlive(workerPid), Deadline, "the worker to die");

        var result = home.Run("cancel", "orphan");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("cancel requested"));
        Assert.That(CancelFiles(home), Has.Length.EqualTo(1), "the request waits beside the job");

        home.Ok("recover");

        var dead = home.ReadJob("dead", "orphan");
        Assert.That(dead.GetProperty("last_error").GetString(), Does.StartWith("cancelled by the user").And.Contain("died"));
        Assert.That(Directory.GetFileSystemEntries(home.PathOf("processing")), Is.Empty, "no request and no folder left");
        Assert.That(ProcessesOfJob("orphan"), Is.Empty);
    }

    [Test]
    public void Remove_DeletesWaitingAndFinishedJobsWithTheirLogs_RefusesRunningAndUnknown()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "echo hi", "--id", "finished");
        home.Ok("enqueue", "--command", "sleep 300", "--id", "running");
        using var worker = new ForegroundWorker(home);
        home.WaitForState("finished", "completed", Deadline);
        Eventually.True(() => ProcessesOfJob("running").Count > 0, Deadline, "the long job to run");
        home.Ok("enqueue", "--command", "true", "--id", "waiting", "--delay", "1h");
        Assert.That(Directory.Exists(home.PathOf("logs", "finished")), Is.True);

        var result = home.Run("remove", "finished", "waiting", "running", "nosuch");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stdout, Is.EqualTo("finished removed\nwaiting removed\n"));
        Assert.That(result.Stderr, Does.Contain("'running' is running").And.Contain("'nosuch'"));
        Assert.That(home.Ids("completed").Concat(home.Ids("pending")), Is.Empty);
        Assert.That(Directory.Exists(home.PathOf("logs", "finished")), Is.False);
        Assert.That(home.Run("show", "running").ExitCode, Is.EqualTo(0), "the running job is untouched");
        Assert.That(Directory.GetFileSystemEntries(home.PathOf("tmp")).Where(p => Path.GetFileName(p).StartsWith("remove-")), Is.Empty);
    }

    [Test]
    public void Retry_SendsCompletedAndDeadJobsBack_KeepsHistory_RefusesUnfinished()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "echo once", "--id", "ok");
        home.Ok("enqueue", "--command", "exit 2", "--id", "broke", "--max-retries", "0");
        using (var worker = new ForegroundWorker(home))
        {
            home.WaitForState("ok", "completed", Deadline);
            home.WaitForState("broke", "dead", Deadline);
        }
        home.Ok("enqueue", "--command", "true", "--id", "waiting");

        var result = home.Run("retry", "ok", "broke", "waiting");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Contain("'waiting' is pending, not finished"));
        Assert.That(home.Ids("pending"), Is.EqualTo(new[] { "broke", "ok", "waiting" }));
        var ok = home.ReadJob("pending", "ok");
        Assert.That(ok.GetProperty("attempts").GetInt32(), Is.EqualTo(0));
        Assert.That(ok.GetProperty("history").GetArrayLength(), Is.EqualTo(1));

        using (var worker = new ForegroundWorker(home))
        {
            home.WaitForState("ok", "completed", Deadline);
        }
        Assert.That(home.ReadJob("completed", "ok").GetProperty("history").GetArrayLength(), Is.EqualTo(2));
    }

    [Test]
    public void Race_CancelWhileWorkersClaim_EachJobEndsInOneStateThatTheCommandReported()
    {
        using var home = new TempHome(inProcess: false);
        var ids = Enumerable.Range(0, 30).Select(i => $"r{i:00}").ToList();
        foreach (var id in ids)
        {
            home.Ok("enqueue", "--command", "sleep 0.5", "--id", id, "--max-retries", "3");
        }
        using var worker = new ForegroundWorker(home, count: 3);

        var result = home.Run(["cancel", .. ids]);

        Eventually.True(() => home.Ids("completed").Count + home.Ids("dead").Count == ids.Count, Deadline, "every job to finish");
        var dead = home.Ids("dead");
        var completed = home.Ids("completed");
        Assert.Multiple(() =>
        {
            Assert.That(dead.Intersect(completed), Is.Empty);
            Assert.That(home.Ids("pending").Concat(home.Ids("failed")), Is.Empty);
            Assert.That(dead, Is.Not.Empty, "some were cancelled");
            Assert.That(dead.Select(id => home.ReadJob("dead", id).GetProperty("last_error").GetString()), Has.All.StartWith("cancelled by the user"));
            foreach (var id in ids)
            {
                var reported = result.Stdout.Contains($"{id} cancelled\n", StringComparison.Ordinal);
                Assert.That(reported, Is.EqualTo(dead.Contains(id)), $"{id}: reported cancelled iff dead\n{result}");
                Assert.That(result.Stderr.Contains($"'{id}' is already finished (completed)", StringComparison.Ordinal), Is.EqualTo(completed.Contains(id)), id);
            }
            Assert.That(result.ExitCode, Is.EqualTo(completed.Count > 0 ? 1 : 0));
            AssertRequestsRemoved(home);
        });
    }

    [Test]
    public void Races_TwoCancelsOfOneRunningJob_AndTwoRetries_EndInOneState()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "sleep 300", "--id", "target", "--max-retries", "3");
        using var worker = new ForegroundWorker(home);
        Eventually.True(() => ProcessesOfJob("target").Count > 0, Deadline, "the job to run");

        var first = Task.Run(() => home.Run("cancel", "target"));
        var second = Task.Run(() => home.Run("cancel", "target"));
        var codes = new[] { first.Result.ExitCode, second.Result.ExitCode };

        Assert.That(codes, Does.Contain(0), $"{first.Result}\n{second.Result}");
        Assert.That(home.Ids("dead"), Is.EqualTo(new[] { "target" }));
        Assert.That(home.Ids("pending").Concat(home.Ids("failed")).Concat(home.Ids("completed")), Is.Empty);
        Assert.That(ProcessesOfJob("target"), Is.Empty);
        AssertRequestsRemoved(home);

        home.Ok("config", "set", "backoff-base", "100"); // keep it waiting in failed/ if it were retried
        var retries = Enumerable.Range(0, 2).Select(_ => Task.Run(() => home.Run("retry", "target"))).ToList();
        var retryCodes = retries.Select(t => t.Result.ExitCode).Order().ToList();
        Assert.That(retryCodes, Is.EqualTo(new[] { 0, 1 }), string.Join("\n", retries.Select(t => t.Result.ToString())));
        Assert.That(home.Ids("dead"), Is.Empty);
    }
}
