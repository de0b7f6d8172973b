using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>Bulk enqueue (`enqueue -`) with "after" naming jobs of earlier lines of the same input.</summary>
[Parallelizable(ParallelScope.All)]
public class BulkAfterTests
{
    private static CliResult Bulk(TempHome home, params string[] lines) =>
        home.RunWithInput(string.Join('\n', lines), "enqueue", "-", "--json");

    [Test]
    public void ParentsOnEarlierLines_AreAccepted_AndTheChildrenWait()
    {
        using var home = new TempHome();
        var result = Bulk(home,
            """{"id":"p","command":"true"}""",
            """{"id":"c1","command":"true","after":["p"]}""",
            """{"id":"c2","command":"true","after":["p","c1"]}""");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        using var output = JsonDocument.Parse(result.Stdout);
        Assert.That(output.RootElement.GetProperty("enqueued").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "p", "c1", "c2" }));
        Assert.That(home.Ids("pending"), Is.EquivalentTo(new[] { "p", "c1", "c2" }));
        Assert.That(home.Ids("tmp"), Is.Empty, "nothing is left staged");
        Assert.That(home.ReadJob("pending", "c2").GetProperty("after").EnumerateArray().Select(a => a.GetString()), Is.EqualTo(new[] { "p", "c1" }));
        var status = home.Json("status");
        Assert.That((status.GetProperty("ready").GetInt32(), status.GetProperty("waiting").GetInt32()), Is.EqualTo((1, 2)));
    }

    [Test]
    public void ALaterLine_AMissingParent_OrACycleThroughAReusedId_IsRefused_TheOtherLinesEnqueued()
    {
        using var home = new TempHome();
        // b waits for a; a is then removed, so a job enqueued again as "a" after b would close a cycle.
        home.Ok("enqueue", "--id", "a", "--", "true");
        home.Ok("enqueue", "--id", "b", "--after", "a", "--", "true");
        home.Ok("remove", "a");
        var result = Bulk(home,
            """{"id":"early","command":"true","after":["late"]}""",           // 1: a parent must come before
            """{"id":"late","command":"true"}""",                              // 2
            """{"id":"orphan","command":"true","after":["late","ghost"]}""",   // 3: ghost exists nowhere
            """{"id":"m","command":"true","after":["b"]}""",                   // 4: m waits for b, which waits for a
            """{"id":"a","command":"true","after":["m"]}""",                   // 5: a -> m -> b -> a: a cycle through a staged line
            """{"id":"ok","command":"true","after":["late","m"]}""");          // 6
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        using var output = JsonDocument.Parse(result.Stdout);
        Assert.That(output.RootElement.GetProperty("enqueued").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "late", "m", "ok" }));
        var refused = output.RootElement.GetProperty("refused").EnumerateArray()
            .Select(r => (r.GetProperty("line").GetInt32(), r.GetProperty("error").GetString()!)).ToList();
        Assert.That(refused.Select(r => r.Item1), Is.EqualTo(new[] { 1, 3, 5 }));
        Assert.That(refused[0].Item2, Does.Contain("Job 'late' named in --after"));
        Assert.That(refused[1].Item2, Does.Contain("Job 'ghost' named in --after"));
        Assert.That(refused[2].Item2, Does.Contain("would make a cycle"));
        Assert.That(home.Ids("pending"), Is.EquivalentTo(new[] { "b", "late", "m", "ok" }));
    }
}
