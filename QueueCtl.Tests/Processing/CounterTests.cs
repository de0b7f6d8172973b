using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>The finish counters (stats/&lt;worker&gt;.json): they survive purge and restarts and never go down.</summary>
[Category("EndToEnd")] // worker processes (detached and foreground) and the dashboard's /metrics
public class CounterTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(30);

    private static (long Completed, long Retried, long Dead) Totals(TempHome home, string? queue = null)
    {
        var totals = home.Json("stats").GetProperty("totals");
        if (queue is not null)
        {
            if (!totals.GetProperty("queues").TryGetProperty(queue, out var one))
            {
                return (0, 0, 0);
            }
            totals = one;
        }
        return (totals.GetProperty("completed").GetInt64(), totals.GetProperty("retried").GetInt64(), totals.GetProperty("dead").GetInt64());
    }

    [Test]
    public void Counters_SurvivePurgeAndAWorkerRestart_AndNeverGoDown()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "backoff-base", "1");
        home.Ok("enqueue", "--command", "true", "--id", "a");
        home.Ok("enqueue", "--command", "true", "--id", "b");
        home.Ok("enqueue", "--command", "true", "--id", "c", "--queue", "mail");
        home.Ok("enqueue", "--command", "exit 4", "--id", "bad", "--max-retries", "1");
        home.StartWorkers(1);
        Eventually.True(() => Totals(home) == (3, 1, 1), Within, "3 completed, 1 retried, 1 dead counted");
        Assert.That(Totals(home, "mail"), Is.EqualTo((1L, 0L, 0L)));
        Assert.That(Totals(home, "default"), Is.EqualTo((2L, 1L, 1L)));

        home.Ok("purge", "--state", "completed");
        home.Ok("purge", "--state", "dead");
        Assert.That(home.Ids("completed"), Is.Empty);
        Assert.That(Totals(home), Is.EqualTo((3L, 1L, 1L)), "purge lowers no counter");

        home.Ok("worker", "stop");
        Assert.That(Totals(home), Is.EqualTo((3L, 1L, 1L)), "a stopped worker's totals stay");
        var minutes = Directory.GetFiles(home.PathOf("stats"), "*.minutes").Single();
        Assert.That(File.ReadAllLines(minutes).Where(l => l.Contains("queue=default")).Sum(l => long.Parse(l.Split("completed=")[1].Split(' ')[0])),
            Is.EqualTo(2), "the per-minute lines add up to the totals");

        home.Ok("enqueue", "--command", "true", "--id", "d");
        home.StartWorkers(1);
        Eventually.True(() => Totals(home) == (4, 1, 1), Within, "the restarted worker adds to the totals");
        Assert.That(Directory.GetFiles(home.PathOf("stats"), "*.json"), Has.Length.EqualTo(2), "one counter file per worker, none deleted");
        home.Ok("worker", "stop");

        using var dashboard = new DashboardProcess(home);
        var metrics = dashboard.Client.GetStringAsync("/metrics").Result;
        Assert.That(metrics, Does.Contain("queuectl_jobs_completed_total{queue=\"default\"} 3\n"));
        Assert.That(metrics, Does.Contain("queuectl_jobs_completed_total{queue=\"mail\"} 1\n"));
        Assert.That(metrics, Does.Contain("queuectl_jobs_retried_total{queue=\"default\"} 1\n"));
        Assert.That(metrics, Does.Contain("queuectl_jobs_dead_total{queue=\"default\"} 1\n"));
    }

    [Test]
    public void Counters_OfAKilledWorker_KeepWhatItWrote()
    {
        using var home = new TempHome();
        home.Ok("enqueue", "--command", "true", "--id", "one");
        using (var worker = new ForegroundWorker(home))
        {
            Eventually.True(() => Totals(home).Completed == 1, Within, "the finish counted within a second");
            worker.Process.Kill(entireProcessTree: true); // kill -9: no exit flush
            worker.WaitForExit(Within);
        }
        Assert.That(Totals(home).Completed, Is.EqualTo(1), "a killed worker's file stays");
        using var document = JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(home.PathOf("stats"), "*.json").Single()));
        Assert.That(document.RootElement.GetProperty("queues").GetProperty("default").GetProperty("completed").GetInt64(), Is.EqualTo(1),
            "readable with cat/jq");
    }
}
