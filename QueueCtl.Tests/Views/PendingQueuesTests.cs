using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Views;

/// <summary>
/// `status`'s per-queue counts over a large backlog come from index/pending.queues for files whose
/// mtime and size it remembers, and from the files themselves for any other: a file rewritten by
/// hand, a new one, a deleted cache.
/// </summary>
public class PendingQueuesTests
{
    [Test]
    public void PerQueueCounts_OverALargeBacklog_AreRemembered_AndFollowEveryChangedFile()
    {
        using var home = new TempHome();
        var lines = string.Join('\n', Enumerable.Range(0, 3000).Select(i => $$"""{"id":"p{{i:D4}}","queue":"{{(i % 3 == 0 ? "a" : "b")}}","command":"true"}"""));
        home.RunWithInput(lines, "enqueue", "-");
        var cache = home.PathOf("index", "pending.queues");

        Assert.That(Ready(home), Is.EqualTo((1000, 2000)));
        Assert.That(File.ReadLines(cache).Count(), Is.EqualTo(3000), "remembered after the first status");

        // Rewritten by hand into queue a (a new mtime), and a new file of queue a: both read again.
        var path = home.PathOf("pending", "p0001.json");
        File.WriteAllText(path, """{"id":"p0001","queue":"a","command":"true"}""");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-1));
        home.Ok("enqueue", "--queue", "a", "--id", "extra", "--", "true");
        Assert.That(Ready(home), Is.EqualTo((1002, 1999)));

        File.WriteAllText(cache, "garbage\n638000000000000000 12 b - p0000.json\n"); // wrong size: not trusted
        Assert.That(Ready(home), Is.EqualTo((1002, 1999)));
        File.Delete(cache);
        Assert.That(Ready(home), Is.EqualTo((1002, 1999)));
    }

    private static (int A, int B) Ready(TempHome home)
    {
        var queues = JsonDocument.Parse(home.Ok("status", "--json")).RootElement.GetProperty("queues");
        return (queues.GetProperty("a").GetProperty("ready").GetInt32(), queues.GetProperty("b").GetProperty("ready").GetInt32());
    }
}
