using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>on-finish hooks against a real worker: they see the job's outcome, and their failure changes nothing.</summary>
public class FinishHookTests
{
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
}
