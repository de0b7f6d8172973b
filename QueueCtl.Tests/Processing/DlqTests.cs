using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

[Category("EndToEnd")]
public class DlqTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>Two dead jobs, made by a real worker, and the worker stopped again.</summary>
    private static TempHome HomeWithDeadJobs()
    {
        var home = new TempHome(inProcess: false);
        home.Ok("enqueue", """{"id":"d1","command":"echo first; exit 1","max_retries":0}""");
        home.Ok("enqueue", """{"id":"d2","command":"exit 2","max_retries":0}""");
        home.StartWorkers(1);
        Eventually.True(() => home.Ids("dead").Count == 2, Deadline, "2 dead jobs");
        home.Ok("worker", "stop");
        return home;
    }

    [Test]
    public void DlqList_ShowsDeadJobs()
    {
        using var home = HomeWithDeadJobs();

        var list = home.Json("dlq", "list");
        var table = home.Ok("dlq", "list");

        Assert.That(list.EnumerateArray().Select(j => j.GetProperty("id").GetString()).Order(), Is.EqualTo(new[] { "d1", "d2" }));
        Assert.That(table, Does.Contain("LAST ERROR").And.Contain("exit code 2"));
    }

    [Test]
    public void DlqRetry_MovesTheJobBackToPending_ResetsAttempts_KeepsHistory()
    {
        using var home = HomeWithDeadJobs();

        var stdout = home.Ok("dlq", "retry", "d1");

        Assert.That(stdout, Does.Contain("d1"));
        Assert.That(home.Ids("dead"), Is.EqualTo(new[] { "d2" }));
        var job = home.ReadJob("pending", "d1");
        Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("pending"));
        Assert.That(job.GetProperty("attempts").GetInt32(), Is.EqualTo(0));
        Assert.That(job.GetProperty("history").GetArrayLength(), Is.EqualTo(1));
        Assert.That(job.TryGetProperty("not_before", out _), Is.False);
    }

    [Test]
    public void DlqRetryAll_RevivesEveryDeadJob_AndWorkersRunThemAgain()
    {
        using var home = HomeWithDeadJobs();

        home.Ok("dlq", "retry", "--all");
        Assert.That(home.Ids("pending"), Is.EqualTo(new[] { "d1", "d2" }));
        home.StartWorkers(1);
        Eventually.True(() => home.Ids("dead").Count == 2, Deadline, "both dead again");

        Assert.That(home.ReadJob("dead", "d1").GetProperty("history").GetArrayLength(), Is.EqualTo(2));
        Assert.That(File.Exists(home.PathOf("logs", "d1", "attempt-1.log")) && File.Exists(home.PathOf("logs", "d1", "attempt-2.log")), Is.True,
            "the run before the retry keeps its log: runs are numbered over the job's life");
        Assert.That(home.ReadJob("dead", "d1").GetProperty("history")[1].GetProperty("attempt").GetInt32(), Is.EqualTo(2));
    }

    [TestCase("missing", 1)]
    [TestCase("../d1", 2)]
    public void DlqRetry_OfAJobNotInTheDlq_IsRefused_AndChangesNothing(string id, int exitCode)
    {
        using var home = HomeWithDeadJobs();
        var before = home.Tree();

        var result = home.Run("dlq", "retry", id);

        Assert.That(result.ExitCode, Is.EqualTo(exitCode), result.ToString());
        Assert.That(home.Tree(), Is.EqualTo(before));
    }
}
