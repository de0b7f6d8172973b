using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>`enqueue --after` against real workers: a child waits for its parents, dies with a dead one, never runs early.</summary>
public class DependencyTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Test]
    public void Child_WaitsUntilEveryParentCompleted_StatusAndListShowIt()
    {
        using var home = new TempHome();
        home.Ok("enqueue", "--id", "p1", "--", "sleep", "1.2");
        home.Ok("enqueue", "--id", "p2", "--", "true");
        home.Ok("enqueue", "--id", "child", "--after", "p1,p2", "--", "true");
        Assert.That(home.ReadJob("pending", "child").GetProperty("after").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "p1", "p2" }));
        var status = home.Json("status");
        Assert.That(status.GetProperty("waiting").GetInt32(), Is.EqualTo(1));
        Assert.That(status.GetProperty("ready").GetInt32(), Is.EqualTo(2));
        Assert.That(home.Ok("status"), Does.Contain("1 waiting for parents"));
        Assert.That(home.Ok("list"), Does.Match(@"child\s+pending \(waiting for p1\)"));

        using var workers = new ForegroundWorker(home, count: 3);
        home.WaitForState("child", "completed", Deadline);
        var parent = home.ReadJob("completed", "p1");
        var child = home.ReadJob("completed", "child");
        Assert.That(child.GetProperty("started_at").GetDateTime(), Is.GreaterThanOrEqualTo(parent.GetProperty("finished_at").GetDateTime()),
            "the child started only after its slow parent finished, though three workers were free");
    }

    [Test]
    public void DeadOrCancelledParent_SendsTheChildToDeadWithoutRunning()
    {
        using var home = new TempHome();
        using var workers = new ForegroundWorker(home, count: 2);
        home.Ok("enqueue", "--id", "fails", "--max-retries", "0", "--", "sleep 0.5; exit 3");
        home.Ok("enqueue", "--id", "later", "--delay", "1h", "--", "true");
        home.Ok("enqueue", "--id", "c1", "--after", "fails", "--", "touch", "c1-ran");
        home.Ok("enqueue", "--id", "c2", "--after", "later", "--", "touch", "c2-ran");
        home.Ok("enqueue", "--id", "grandchild", "--after", "c1", "--", "touch", "g-ran");

        home.WaitForState("c1", "dead", Deadline);
        home.WaitForState("grandchild", "dead", Deadline);
        Assert.That(home.Ids("pending"), Is.EqualTo(new[] { "c2", "later" }), "c2 still waits for its scheduled parent");
        home.Ok("cancel", "later");
        home.WaitForState("c2", "dead", Deadline);

        Assert.Multiple(() =>
        {
            Assert.That(home.ReadJob("dead", "c1").GetProperty("last_error").GetString(), Does.Contain("parent job fails ended dead"));
            Assert.That(home.ReadJob("dead", "c2").GetProperty("last_error").GetString(), Does.Contain("parent job later was cancelled"));
            Assert.That(home.ReadJob("dead", "grandchild").GetProperty("last_error").GetString(), Does.Contain("parent job c1"));
            Assert.That(home.ReadJob("dead", "c1").GetProperty("attempts").GetInt32(), Is.EqualTo(0), "never ran");
            Assert.That(home.ReadJob("dead", "c1").TryGetProperty("history", out _), Is.False);
            Assert.That(File.Exists(Path.Combine(home.Parent, "c1-ran")) || File.Exists(Path.Combine(home.Parent, "c2-ran")) || File.Exists(Path.Combine(home.Parent, "g-ran")), Is.False);
        });
    }

    [Test]
    public void MissingParent_Self_OrACycleThroughAReusedId_IsRefused_NothingWritten()
    {
        using var home = new TempHome();
        home.Ok("enqueue", "--id", "a", "--", "true");
        home.Ok("enqueue", "--id", "b", "--after", "a", "--", "true");
        home.Ok("remove", "a");
        var before = home.Tree();
        (string[] Args, string Message)[] refused =
        [
            (["enqueue", "--id", "x", "--after", "nope", "--", "true"], "Job 'nope' named in --after"),
            (["enqueue", "--id", "x", "--after", "x", "--", "true"], "cannot wait for itself"),
            (["enqueue", "--id", "a", "--after", "b", "--", "true"], "would make a cycle"),
            (["enqueue", """{"id":"y","command":"true","after":["ghost"]}"""], "Job 'ghost' named in --after"),
            (["enqueue", "--after", "bad/id", "--", "true"], "Invalid job id"),
        ];
        foreach (var (args, message) in refused)
        {
            var result = home.Run(args);
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Stderr, Does.Contain(message));
        }
        Assert.That(home.Tree(), Is.EqualTo(before), "a refused enqueue writes nothing");
    }
}
