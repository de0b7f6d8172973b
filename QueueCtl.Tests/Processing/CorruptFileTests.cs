using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>A corrupt job file anywhere never crashes a worker and is never deleted.</summary>
[Category("EndToEnd")]
public class CorruptFileTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Test]
    public void CorruptFileInFailed_IsQuarantined_AndTheWorkerGoesOn()
    {
        using var home = new TempHome(inProcess: false);
        var ids = home.StartWorkers(1);
        var path = home.PathOf("failed", "broken.json");
        File.WriteAllText(path, """{"id":"broken","command":"true","state":"failed","attem""");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-1));

        Eventually.True(() => File.Exists(home.PathOf("rejected", "broken.json")), Deadline, "broken.json in rejected/");
        home.Ok("enqueue", "--command", "true", "--id", "next");
        home.WaitForState("next", "completed", Deadline);

        Assert.That(File.ReadAllText(home.PathOf("rejected", "broken.json.reason")), Does.Contain("corrupt"));
        Assert.That(Processes.IsAlive(WorkerFiles.Pid(home, ids[0])), Is.True);
    }

    [Test]
    public void CorruptFileInADeadWorkersFolder_IsQuarantinedByRecovery_NotDeleted()
    {
        using var home = new TempHome(inProcess: false);
        Directory.CreateDirectory(home.PathOf("processing", "w-gone"));
        File.WriteAllText(home.PathOf("processing", "w-gone", "mangled.json"), "\0\0\0garbage");
        File.WriteAllText(home.PathOf("processing", "w-gone", "fine.json"),
            """{"id":"fine","command":"true","state":"processing","attempts":0,"max_retries":0,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}""");

        var result = home.Run("recover");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(File.ReadAllText(home.PathOf("rejected", "mangled.json")), Is.EqualTo("\0\0\0garbage"));
        Assert.That(File.ReadAllText(home.PathOf("rejected", "mangled.json.reason")), Does.Contain("during recovery"));
        Assert.That(home.ReadJob("dead", "fine").GetProperty("last_error").GetString(), Does.Contain("w-gone"));
        Assert.That(Directory.Exists(home.PathOf("processing", "w-gone")), Is.False);
    }

    [Test]
    public void CorruptJobInPending_DoesNotBreakListOrStatus()
    {
        using var home = new TempHome(inProcess: false);
        File.WriteAllText(home.PathOf("pending", "junk.json"), "{{{");
        home.Ok("enqueue", "--command", "true", "--id", "ok");

        var list = home.Ok("list");

        Assert.That(list, Does.Contain("junk").And.Contain("unreadable").And.Contain("ok"));
        Assert.That(home.Json("status").GetProperty("pending").GetInt32(), Is.EqualTo(2));
    }
}
