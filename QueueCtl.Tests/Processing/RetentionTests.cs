using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>completed-retention, dead-retention and the worker log's cap, applied by workers; ages are set, never waited for.</summary>
public class RetentionTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(30);

    /// <summary>A finished job (and one attempt log) that finished <paramref name="age"/> ago, its mtime aged to match.</summary>
    private static void Finished(TempHome home, string state, string id, TimeSpan age)
    {
        var finished = DateTime.UtcNow - age;
        var t = finished.ToString("yyyy-MM-ddTHH:mm:ss.fffZ");
        var path = home.PathOf(state, id + ".json");
        File.WriteAllText(path,
            $$"""{"id":"{{id}}","command":"true","state":"{{state}}","attempts":1,"max_retries":0,"created_at":"{{t}}","updated_at":"{{t}}","finished_at":"{{t}}"}""");
        File.SetLastWriteTimeUtc(path, finished);
        Directory.CreateDirectory(home.PathOf("logs", id));
        File.WriteAllText(home.PathOf("logs", id, "attempt-1.log"), "output\n");
    }

    [Category("EndToEnd")] // a worker process
    [Test]
    public void Workers_DeleteFinishedJobsPastTheDefaultRetention_WithTheirLogs_AndKeepTheRest()
    {
        using var home = new TempHome();
        Finished(home, "completed", "old-done", TimeSpan.FromDays(8));
        Finished(home, "completed", "new-done", TimeSpan.FromDays(6));
        Finished(home, "dead", "old-dead", TimeSpan.FromDays(31));
        Finished(home, "dead", "new-dead", TimeSpan.FromDays(8));
        var goneWorkerLog = home.PathOf("workers", "w-gone.log");
        File.WriteAllText(goneWorkerLog, "old worker\n");
        File.SetLastWriteTimeUtc(goneWorkerLog, DateTime.UtcNow.AddDays(-8));

        using var worker = new ForegroundWorker(home);
        Eventually.True(() => home.Ids("completed").SequenceEqual(["new-done"]) && home.Ids("dead").SequenceEqual(["new-dead"]),
            Within, "the jobs past 7 d (completed) and 30 d (dead) deleted");
        // The job file is taken aside first, its logs deleted just after: wait for both.
        Eventually.True(() => !Directory.Exists(home.PathOf("logs", "old-done")) && !Directory.Exists(home.PathOf("logs", "old-dead")),
            Within, "logs retire with their job");
        Assert.That(Directory.Exists(home.PathOf("logs", "new-done")), Is.True);
        Eventually.True(() => !File.Exists(goneWorkerLog), Within, "a gone worker's old log retired");
    }

    [Category("EndToEnd")] // a worker process
    [Test]
    public void Retention_OfZero_KeepsJobsForever_AndAShorterOneAppliesToRunningWorkers()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "completed-retention", "0");
        home.Ok("config", "set", "dead-retention", "1h");
        Assert.That(home.Ok("config", "get", "dead-retention").Trim(), Is.EqualTo("1h"));
        Finished(home, "completed", "ancient", TimeSpan.FromDays(3000));
        Finished(home, "dead", "two-hours", TimeSpan.FromHours(2));
        Finished(home, "dead", "fresh", TimeSpan.FromMinutes(5));

        using var worker = new ForegroundWorker(home);
        Eventually.True(() => home.Ids("dead").SequenceEqual(["fresh"]), Within, "the dead job past 1 h deleted");
        Assert.That(home.Ids("completed"), Is.EqualTo(new[] { "ancient" }), "0 keeps completed jobs");
    }

    [Test]
    public void Retention_RefusesABadValue_AndChangesNothing()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "dead-retention", "10d");
        var before = File.ReadAllText(home.PathOf("config.json"));
        var result = home.Run("config", "set", "completed-retention", "soon");
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("completed-retention"));
        Assert.That(File.ReadAllText(home.PathOf("config.json")), Is.EqualTo(before));
        Assert.That(home.Ok("config", "get", "completed-retention").Trim(), Is.EqualTo("7d"), "the default");
    }

    [Category("EndToEnd")] // a worker process
    [Test]
    public void WorkerLog_PastItsCap_IsRotatedToDotOne()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "worker-log-max-size", "1K");
        var id = home.StartWorkers(1).Single();
        var log = home.PathOf("workers", id + ".log");
        for (var i = 0; i < 20; i++)
        {
            home.Ok("enqueue", "--command", "true", "--id", $"job-with-a-longish-name-{i:00}");
        }
        Eventually.True(() => home.Ids("completed").Count == 20, Within, "20 jobs completed");
        home.Ok("worker", "stop");
        Assert.That(File.Exists(log + ".1"), Is.True, "the full log rotated to .log.1");
        Assert.That(new FileInfo(log).Length, Is.LessThanOrEqualTo(2048), "the current log began again");
        Assert.That(new FileInfo(log + ".1").Length, Is.LessThanOrEqualTo(2048));
        Assert.That(File.ReadAllText(log), Does.Contain("stopped"), "lines after the rotation go to the new file");
    }
}
