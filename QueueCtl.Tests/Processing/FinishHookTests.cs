using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>on-finish hooks against a real worker: they see the job's outcome, and their failure changes nothing.</summary>
[Category("EndToEnd")]
public class FinishHookTests
{
    private const int SigTerm = 15;
    private const int SigKill = 9;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Test]
    public void ConfiguredHook_RunsAfterCompletedAndDead_WithTheJobsOutcome_AndEnqueueOnFinishWins()
    {
        using var home = new TempHome();
        var record = Path.Combine(home.Parent, "hooks.txt");
        home.Ok("config", "set", "on-finish", $"echo \"$QUEUECTL_JOB_ID $QUEUECTL_STATE $QUEUECTL_EXIT_CODE $QUEUECTL_HOME\" >> {record}");
        home.Ok("enqueue", "--id", "good", "--", "true");
        home.Ok("enqueue", "--id", "bad", "--max-retries", "0", "--command", "exit 4");
        home.Ok("enqueue", "--id", "own", "--on-finish", $"echo own-hook $QUEUECTL_STATE >> {record}", "--", "true");
        using var worker = new ForegroundWorker(home);
        Eventually.True(() => File.Exists(record) && File.ReadAllLines(record).Length == 3, Deadline, "three hooks to run");
        Assert.That(File.ReadAllLines(record), Is.EquivalentTo(new[]
        {
            $"good completed 0 {home.Root}",
            $"bad dead 4 {home.Root}",
            "own-hook completed",
        }));
    }

    [Test]
    public void FailingOrHangingHook_IsLogged_NeverChangesTheJob_NorBlocksTheNextClaim()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "on-finish-timeout", "1s");
        home.Ok("enqueue", "--id", "hangs", "--on-finish", "sleep 60.75", "--", "true");
        home.Ok("enqueue", "--id", "fails", "--on-finish", "echo boom >&2; exit 9", "--", "true");
        home.Ok("enqueue", "--id", "next", "--", "true");
        using var worker = new ForegroundWorker(home); // one worker: "next" runs while the hook of "hangs" still sleeps
        home.WaitForState("next", "completed", Deadline);
        Eventually.True(() => worker.Output.Contains("on-finish hook for hangs timed out after 1 s", StringComparison.Ordinal), Deadline, "the timeout logged");
        Eventually.True(() => worker.Output.Contains("on-finish hook for fails failed with exit code 9: boom", StringComparison.Ordinal), Deadline, "the failure logged");
        Eventually.True(() => Processes.WithCommandLine("sleep 60.75").Count == 0, Deadline, "the hanging hook killed");
        Assert.That(home.Ids("completed"), Is.EqualTo(new[] { "fails", "hangs", "next" }), "hooks never change the jobs");
        Assert.That(home.ReadJob("completed", "hangs").TryGetProperty("last_error", out _), Is.False);
        var output = worker.Output;
        Assert.That(output.IndexOf("running next", StringComparison.Ordinal), Is.LessThan(output.IndexOf("hook for hangs timed out", StringComparison.Ordinal)),
            "the next job ran before the hook's timeout: the worker did not wait for the hook");
    }

    [Test]
    public void HooksStillRunningAtAWorkersStop_AreKilledAndSaid_AndAtItsDeath_ItsGuardKillsThem()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "on-finish-timeout", "1h"); // nothing but the stop or the guard ends them
        for (var i = 0; i < 6; i++)
        {
            home.Ok("enqueue", "--id", $"s{i}", "--on-finish", "sleep 61.5", "--", "true");
        }
        using (var worker = new ForegroundWorker(home, count: 2))
        {
            Eventually.True(() => Processes.WithCommandLine("sleep 61.5").Count == 6, Deadline, "six hooks running");
            Processes.Signal(worker.Process.Id, SigTerm);
            Assert.That(worker.WaitForExit(Deadline), Is.True, "the worker stopped");
            Eventually.True(() => Processes.WithCommandLine("sleep 61.5").Count == 0, Deadline, "no hook outlives its stopped worker");
            Assert.That(System.Text.RegularExpressions.Regex.Matches(worker.Output, @"on-finish hook for s\d was still running at the worker's stop and was killed").Count,
                Is.EqualTo(6), worker.Output);
        }

        for (var i = 0; i < 4; i++)
        {
            home.Ok("enqueue", "--id", $"k{i}", "--on-finish", "sleep 62.5", "--", "true");
        }
        using var killed = new ForegroundWorker(home, count: 2);
        Eventually.True(() => Processes.WithCommandLine("sleep 62.5").Count == 4, Deadline, "four hooks running");
        Processes.Signal(killed.Process.Id, SigKill);
        Eventually.True(() => Processes.WithCommandLine("sleep 62.5").Count == 0, Deadline, "the guard of the killed worker killed its hooks");
        Assert.That(home.Ids("completed"), Has.Count.EqualTo(10), "hooks never change the jobs");
    }

    [Test]
    public void JobsSentDeadByRecoveryOrCancel_RunTheirHooksToo_InTheCliAndInAWorker()
    {
        using var home = new TempHome();
        var record = Path.Combine(home.Parent, "hooks.txt");
        home.Ok("config", "set", "on-finish", $"echo \"$QUEUECTL_JOB_ID $QUEUECTL_STATE [$QUEUECTL_EXIT_CODE]\" >> {record}");
        void Orphan(string workerId, string jobId)
        {
            // A dead worker's folder (it never registered, or its registration is gone) with a running job that has no retries left.
            Directory.CreateDirectory(home.PathOf("processing", workerId));
            File.WriteAllText(home.PathOf("processing", workerId, jobId + ".json"),
                $$"""{"id":"{{jobId}}","command":"true","state":"processing","attempts":0,"max_retries":0,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","worker_id":"{{workerId}}"}""");
        }
        Orphan("w-gone1", "orphan-cli");
        home.Ok("enqueue", "--id", "waiting", "--delay", "1h", "--", "true");

        home.Ok("recover");
        home.Ok("cancel", "waiting");
        Assert.That(File.ReadAllLines(record), Is.EquivalentTo(new[] { "orphan-cli dead []", "waiting dead []" }),
            "recover and cancel wait for the hooks of the jobs they sent dead");

        Orphan("w-gone2", "orphan-worker");
        using var worker = new ForegroundWorker(home);
        Eventually.True(() => File.ReadAllLines(record).Contains("orphan-worker dead []"), Deadline, "the worker's recovery to run the hook");
        Assert.That(home.Ids("dead"), Is.EqualTo(new[] { "orphan-cli", "orphan-worker", "waiting" }));
    }
}
