using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>
/// `status` shows a limited queue's slots in use (QueueSlots): the slot folders are made by hand,
/// as a worker's rename would leave them, so no worker runs.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class QueueLimitStatusTests
{
    /// <summary>Slot k of a queue held by a worker for a job, as QueueSlots.TryAcquire leaves it.</summary>
    private static void Hold(TempHome home, string queue, int k, string worker, string job)
    {
        var slot = home.PathOf("slots", queue, k.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(slot);
        File.WriteAllBytes(Path.Combine(slot, $"{worker}@{job}"), []);
    }

    [Test]
    public void LimitedQueue_ShowsSlotsInUse_InTextAndJson()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "queue.lim.concurrency", "2");
        foreach (var id in new[] { "a", "b", "c" })
        {
            home.Ok("enqueue", "--queue", "lim", "--id", id, "--", "true");
        }
        home.Ok("enqueue", "--id", "free", "--", "true");
        Hold(home, "lim", 0, "w-h-1", "x");
        Directory.CreateDirectory(home.PathOf("slots", "lim", "1")); // an empty slot folder is free

        Assert.That(home.Ok("status"), Does.Match(@"queues\s+default: 1 ready.*\n\s+lim: 1/2 running, 3 ready, 0 scheduled"));
        var lim = home.Json("status").GetProperty("queues").GetProperty("lim");
        Assert.That(lim.GetProperty("limit").GetInt32(), Is.EqualTo(2));
        Assert.That(lim.GetProperty("running").GetInt32(), Is.EqualTo(1));
        Assert.That(lim.GetProperty("ready").GetInt32(), Is.EqualTo(3));
        var unlimited = home.Json("status").GetProperty("queues").GetProperty("default");
        Assert.That(unlimited.GetProperty("limit").ValueKind, Is.EqualTo(System.Text.Json.JsonValueKind.Null));
        Assert.That(unlimited.GetProperty("running").ValueKind, Is.EqualTo(System.Text.Json.JsonValueKind.Null));

        Hold(home, "lim", 1, "w-h-2", "y");
        Assert.That(home.Ok("status"), Does.Contain("lim: 2/2 running, 3 ready"));
    }

    [Test]
    public void LimitedQueue_WithoutJobs_IsListed_AndALoweredLimitShowsEveryHeldSlot()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "queue.default.concurrency", "3");
        Hold(home, "default", 0, "w-h-1", "x");
        Hold(home, "default", 2, "w-h-2", "y");
        Assert.That(home.Ok("status"), Does.Contain("default: 2/3 running, 0 ready"), "a limited default queue is shown alone");

        home.Ok("config", "set", "queue.default.concurrency", "1"); // lowered: slot 2 is still held until its job ends
        var queue = home.Json("status").GetProperty("queues").GetProperty("default");
        Assert.That((queue.GetProperty("running").GetInt32(), queue.GetProperty("limit").GetInt32()), Is.EqualTo((2, 1)));
        Assert.That(home.Ok("status"), Does.Contain("default: 2/1 running"));
    }

    [Test]
    public void WithoutLimits_StatusHasNoQueueRows()
    {
        using var home = new TempHome();
        home.Ok("enqueue", "--id", "j", "--", "true");
        Assert.That(home.Ok("status"), Does.Not.Contain("queues"));
        Assert.That(home.Json("status").GetProperty("queues").GetProperty("default").GetProperty("limit").ValueKind,
            Is.EqualTo(System.Text.Json.JsonValueKind.Null));
    }
}
