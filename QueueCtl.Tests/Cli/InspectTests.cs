using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

[Parallelizable(ParallelScope.All)]
public class InspectTests
{
    [Test]
    public void Status_CountsEveryState_AndSplitsPendingIntoReadyAndScheduled()
    {
        using var home = new TempHome();
        home.Ok("enqueue", "--command", "true", "--id", "r1");
        home.Ok("enqueue", "--command", "true", "--id", "r2");
        home.Ok("enqueue", "--command", "true", "--id", "later", "--delay", "1h");
        File.Move(home.PathOf("pending", "r2.json"), home.PathOf("completed", "r2.json"));

        var status = home.Json("status");

        Assert.Multiple(() =>
        {
            Assert.That(status.GetProperty("pending").GetInt32(), Is.EqualTo(2));
            Assert.That(status.GetProperty("ready").GetInt32(), Is.EqualTo(1));
            Assert.That(status.GetProperty("scheduled").GetInt32(), Is.EqualTo(1));
            Assert.That(status.GetProperty("completed").GetInt32(), Is.EqualTo(1));
            Assert.That(status.GetProperty("dead").GetInt32(), Is.EqualTo(0));
            Assert.That(status.GetProperty("next_run").GetDateTime().ToUniversalTime(),
                Is.EqualTo(DateTime.UtcNow.AddHours(1)).Within(TimeSpan.FromMinutes(1)));
        });
        Assert.That(home.Ok("status"), Does.Contain("2  (1 ready, 1 scheduled)").And.Contain("(in 59 m)"));
    }

    [Test]
    public void List_IsOldestFirst_FiltersByState_AndLimits()
    {
        using var home = new TempHome();
        home.Ok("enqueue", """{"id":"young","command":"true","created_at":"2025-01-03T00:00:00Z"}""");
        home.Ok("enqueue", """{"id":"old","command":"true","created_at":"2025-01-01T00:00:00Z"}""");
        home.Ok("enqueue", """{"id":"mid","command":"true","created_at":"2025-01-02T00:00:00Z"}""");
        File.Move(home.PathOf("pending", "mid.json"), home.PathOf("dead", "mid.json"));

        string[] Ids(JsonElement list) => list.EnumerateArray().Select(j => j.GetProperty("id").GetString()!).ToArray();

        Assert.That(Ids(home.Json("list")), Is.EqualTo(new[] { "old", "mid", "young" }));
        Assert.That(Ids(home.Json("list", "--state", "pending")), Is.EqualTo(new[] { "old", "young" }));
        Assert.That(Ids(home.Json("list", "--limit", "2")), Is.EqualTo(new[] { "old", "mid" }));
        Assert.That(home.Json("list", "--state", "dead")[0].GetProperty("state").GetString(), Is.EqualTo("dead"));
        var table = home.Ok("list").Split('\n');
        Assert.That(table[0], Does.StartWith("ID").And.Contain("STATE").And.Contain("COMMAND"));
        Assert.That(table[1], Does.StartWith("old "));
    }

    [Test]
    public void List_UnknownState_IsRefusedWithTheValidOnes()
    {
        using var home = new TempHome();

        var result = home.Run("list", "--state", "done");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Stderr, Does.Contain("pending, processing, completed, failed, dead"));
    }

    [Test]
    public void Show_PrintsTheFile_WhereverItIs()
    {
        using var home = new TempHome();
        home.Ok("enqueue", """{"id":"s","command":"echo shown"}""");
        Directory.CreateDirectory(home.PathOf("processing", "w-1"));
        File.Move(home.PathOf("pending", "s.json"), home.PathOf("processing", "w-1", "s.json"));

        var stdout = home.Ok("show", "s");

        Assert.That(stdout, Is.EqualTo(File.ReadAllText(home.PathOf("processing", "w-1", "s.json"))));
        Assert.That(home.Json("show", "s").GetProperty("command").GetString(), Is.EqualTo("echo shown"));
    }

    [Test]
    public void Show_UnknownId_IsNotFound()
    {
        using var home = new TempHome();

        var result = home.Run("show", "nope");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Stderr, Is.EqualTo("queuectl: No job with id 'nope'.\n"));
    }

    [Test]
    public void List_ShowsADroppedFile_BeforeAWorkerNormalisesIt()
    {
        using var home = new TempHome();
        File.WriteAllText(home.PathOf("pending", "dropped.json"), """{"command":"echo dropped"}""");

        var list = home.Json("list");

        Assert.That(list.GetArrayLength(), Is.EqualTo(1));
        Assert.That(list[0].GetProperty("id").GetString(), Is.EqualTo("dropped"));
        Assert.That(list[0].GetProperty("command").GetString(), Is.EqualTo("echo dropped"));
    }
}
