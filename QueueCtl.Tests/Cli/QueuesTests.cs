using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>Named queues and labels against the real CLI and real (detached) workers.</summary>
[Parallelizable(ParallelScope.All)]
public class QueuesTests
{
    private static readonly TimeSpan Held = TimeSpan.FromSeconds(1.5);

    /// <summary>A negative check with a deadline: the job stays in pending/ for the whole of <paramref name="during"/>.</summary>
    private static void StaysPending(TempHome home, string id, TimeSpan during)
    {
        var until = DateTime.UtcNow + during;
        while (DateTime.UtcNow < until)
        {
            Assert.That(File.Exists(home.PathOf("pending", id + ".json")), Is.True, $"{id} was taken");
            Thread.Sleep(20);
        }
    }

    private static List<string> ListedIds(TempHome home, params string[] args) =>
        home.Json(["list", .. args]).EnumerateArray().Select(j => j.GetProperty("id").GetString()!).ToList();

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void WorkerWithQueues_RunsOnlyThoseQueues_RecordsThem_AndADroppedFileNamesItsQueue()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--queue", "b", "--id", "job-b", "--", "true");
        home.Ok("enqueue", "--queue", "c", "--id", "job-c", "--", "true");
        File.WriteAllText(home.PathOf("tmp", "dropped.json"), """{"command":"true","queue":"a"}""");
        File.Move(home.PathOf("tmp", "dropped.json"), home.PathOf("pending", "dropped.json"));
        home.Ok("enqueue", "--queue", "a", "--id", "job-a", "--", "true");

        var worker = home.Ok("worker", "start", "--queue", "a,c").Trim();
        home.WaitForState("job-a", "completed", TimeSpan.FromSeconds(15));
        home.WaitForState("job-c", "completed", TimeSpan.FromSeconds(15));
        home.WaitForState("dropped", "completed", TimeSpan.FromSeconds(15));
        Assert.That(home.ReadJob("completed", "dropped").GetProperty("queue").GetString(), Is.EqualTo("a"));
        StaysPending(home, "job-b", Held);

        var record = home.Json("worker", "list").EnumerateArray().Single();
        Assert.That(record.GetProperty("id").GetString(), Is.EqualTo(worker));
        Assert.That(record.GetProperty("queues").EnumerateArray().Select(q => q.GetString()), Is.EqualTo(new[] { "a", "c" }));
        Assert.That(home.Ok("worker", "list"), Does.Contain("QUEUES"));

        var status = home.Json("status").GetProperty("queues");
        Assert.That(status.GetProperty("b").GetProperty("ready").GetInt32(), Is.EqualTo(1));
        Assert.That(status.TryGetProperty("a", out _) || status.TryGetProperty("c", out _), Is.False, "queues a and c have no unfinished job");
        Assert.That(home.Ok("status"), Does.Match(@"queues\s+b: 1 ready"));
        home.Ok("worker", "stop");
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void PausedQueue_IsPassedOver_WhileOtherQueuesRun_ResumeRunsIt()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("pause", "--queue", "b");
        home.Ok("enqueue", "--queue", "b", "--id", "held-b", "--", "true");
        home.StartWorkers(1);
        home.Ok("enqueue", "--queue", "a", "--id", "run-a", "--", "true");
        home.WaitForState("run-a", "completed", TimeSpan.FromSeconds(15));
        StaysPending(home, "held-b", Held);

        home.Ok("resume", "--queue", "b");
        home.WaitForState("held-b", "completed", TimeSpan.FromSeconds(5));
        home.Ok("worker", "stop");
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void WaitQueue_WaitsForThatQueueOnly()
    {
        // In process (only `worker start` runs the executable): less of n1's 2 s passes before wait starts.
        using var home = new TempHome();
        home.Ok("enqueue", "--queue", "nightly", "--id", "n1", "--delay", "2s", "--", "true"); // still unfinished when wait starts
        home.Ok("enqueue", "--id", "other", "--delay", "1h", "--", "true");
        home.StartWorkers(1);
        var result = home.Run("wait", "--queue", "nightly", "--timeout", "20s", "--json");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        using var waited = JsonDocument.Parse(result.Stdout);
        Assert.That(waited.RootElement.EnumerateArray().Select(j => (j.GetProperty("id").GetString(), j.GetProperty("state").GetString())),
            Is.EqualTo(new[] { ("n1", "completed") }), "the scheduled job of queue default is not waited for");
        home.Ok("worker", "stop");
    }

    [Test]
    public void List_FiltersByQueueLabelGrep_NewestFirst_AndLimit()
    {
        using var home = new TempHome();
        home.Ok("enqueue", "--id", "j1", "--queue", "a", "--label", "nightly", "--label", "db", "--", "echo", "Backup");
        Thread.Sleep(5); // created_at has millisecond resolution: keep the order unambiguous
        home.Ok("enqueue", "--id", "j2", "--queue", "b", "--label", "nightly", "--", "echo", "report");
        Thread.Sleep(5);
        home.Ok("enqueue", """{"id":"j3","command":"echo backup","labels":["db"]}""");

        Assert.That(ListedIds(home, "--queue", "a"), Is.EqualTo(new[] { "j1" }));
        Assert.That(ListedIds(home, "--queue", "default"), Is.EqualTo(new[] { "j3" }));
        Assert.That(ListedIds(home, "--label", "nightly"), Is.EqualTo(new[] { "j1", "j2" }));
        Assert.That(ListedIds(home, "--label", "nightly", "--label", "db"), Is.EqualTo(new[] { "j1" }));
        Assert.That(ListedIds(home, "--grep", "BACKUP"), Is.EqualTo(new[] { "j1", "j3" }));
        Assert.That(ListedIds(home, "--grep", "j2"), Is.EqualTo(new[] { "j2" }), "grep matches the id too");
        Assert.That(ListedIds(home, "--newest", "--limit", "1"), Is.EqualTo(new[] { "j3" }));
        Assert.That(ListedIds(home, "--newest"), Is.EqualTo(new[] { "j3", "j2", "j1" }));
        Assert.That(ListedIds(home, "--state", "pending", "--label", "db", "--grep", "backup", "--queue", "a"), Is.EqualTo(new[] { "j1" }));
        Assert.That(ListedIds(home, "--queue", "a", "--label", "missing"), Is.Empty);

        var j1 = home.ReadJob("pending", "j1");
        Assert.That(j1.GetProperty("queue").GetString(), Is.EqualTo("a"));
        Assert.That(j1.GetProperty("labels").EnumerateArray().Select(l => l.GetString()), Is.EqualTo(new[] { "nightly", "db" }));
        Assert.That(home.ReadJob("pending", "j3").TryGetProperty("queue", out _), Is.False, "the default queue is not written");
        Assert.That(home.Ok("list", "--label", "nope"), Does.Contain("No jobs match."));
    }

    [Test]
    public void InvalidQueueOrLabel_IsRefused_NothingWritten()
    {
        using var home = new TempHome();
        var before = home.Tree();
        string[][] refused =
        [
            ["enqueue", "--queue", "bad name", "--", "true"],
            ["enqueue", "--queue", ".hidden", "--", "true"],
            ["enqueue", "--label", "ok", "--label", "no/slash", "--", "true"],
            ["enqueue", """{"command":"true","queue":"a b"}"""],
            ["enqueue", """{"command":"true","labels":["fine", ""]}"""],
            ["enqueue", """{"command":"true","labels":"single"}"""],
            ["worker", "start", "--queue", "a,bad name"],
            ["list", "--queue", "bad name"],
            ["list", "--label", "../x"],
        ];
        foreach (var args in refused)
        {
            // TempHome.Run sends `worker start` to the executable (it launches workers); refused
            // before it launches anything, it runs in process here, as the other commands do.
            var result = args is ["worker", "start", ..] ? QueueCtlInProcess.Run([.. args, "--home", home.Root]) : home.Run(args);
            Assert.That(result.ExitCode, Is.EqualTo(2), $"{string.Join(' ', args)}: {result}");
            Assert.That(result.Stderr, Does.Contain("queue").Or.Contain("label"), result.ToString());
        }
        Assert.That(home.Tree(), Is.EqualTo(before), "a refused request changes nothing");
    }
}
