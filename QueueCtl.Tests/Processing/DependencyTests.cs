using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>`enqueue --after` against real workers: a child waits for its parents, dies with a dead one, never runs early.</summary>
[Category("EndToEnd")]
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
    public void DroppedFilesThatWaitInACycle_GoDeadNamingIt_AndTheirWaitersWithThem()
    {
        // enqueue refuses a cycle; files dropped into pending/ are not checked on the way in, so
        // the workers' index must find it, or the jobs would wait forever.
        using var home = new TempHome();
        home.Ok("enqueue", "--id", "slow", "--", "sleep", "0.5");
        foreach (var (id, after) in new[] { ("dx", "dy"), ("dy", "dz"), ("dz", "dx"), ("waiter", "dx"), ("fine", "slow") })
        {
            var tmp = home.PathOf("tmp", id + ".json");
            File.WriteAllText(tmp, $$"""{"id":"{{id}}","command":"touch {{id}}-ran","after":["{{after}}"]}""");
            File.Move(tmp, home.PathOf("pending", id + ".json"));
        }

        using var workers = new ForegroundWorker(home, count: 2);
        home.WaitForState("fine", "completed", Deadline);
        foreach (var id in new[] { "dx", "dy", "dz", "waiter" })
        {
            home.WaitForState(id, "dead", Deadline);
        }

        var errors = new[] { "dx", "dy", "dz", "waiter" }.ToDictionary(id => id, id => home.ReadJob("dead", id).GetProperty("last_error").GetString()!);
        var closer = errors.Single(e => e.Value.StartsWith("its parents form a cycle", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(closer.Key, Is.EqualTo("dx"), "the smallest id of the cycle goes dead first, whatever the order the files were seen in");
            Assert.That(closer.Value, Does.StartWith("its parents form a cycle (dx -> dy -> dz -> dx)"), "the reason names the whole cycle");
            foreach (var (id, error) in errors.Where(e => e.Key != closer.Key))
            {
                Assert.That(error, Does.StartWith("its parent job ").And.Contain("ended dead"), id + " went dead because its parent did");
            }
            Assert.That(errors.Keys.Where(id => File.Exists(Path.Combine(home.Parent, id + "-ran"))), Is.Empty, "no job of the cycle ran");
            Assert.That(home.Ids("pending"), Is.Empty);
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
            (["enqueue", "--after", "", "--", "true"], "Invalid job id ''"),
            (["enqueue", "--after", "b,", "--", "true"], "Invalid job id ''"),
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
