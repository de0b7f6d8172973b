using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>`pause` / `resume` against real workers: nothing new is taken, running jobs finish, restarts keep it.</summary>
[Category("EndToEnd")]
public class PauseTests
{
    private static readonly TimeSpan Held = TimeSpan.FromSeconds(1.5);

    /// <summary>A negative check with a deadline: the job stays in pending/ for the whole of <paramref name="during"/>.</summary>
    private static void StaysPending(TempHome home, string id, TimeSpan during)
    {
        var until = DateTime.UtcNow + during;
        while (DateTime.UtcNow < until)
        {
            Assert.That(File.Exists(home.PathOf("pending", id + ".json")), Is.True, $"{id} was taken while paused");
            Thread.Sleep(20);
        }
    }

    private static List<string?> WorkerStates(TempHome home) =>
        home.Json("worker", "list").EnumerateArray().Select(w => w.GetProperty("state").GetString()).ToList();

    private static void WaitForWorkers(TempHome home, string state, int count) =>
        Eventually.True(() => WorkerStates(home) is var s && s.Count == count && s.All(x => x == state),
            TimeSpan.FromSeconds(15), $"{count} worker(s) {state}");

    [Test]
    public void Pause_HoldsNewJobs_StatusAndWorkerListSayIt_ResumeRunsThemPromptly()
    {
        using var home = new TempHome(inProcess: false);
        home.StartWorkers(1);
        WaitForWorkers(home, "idle", 1);

        Assert.That(home.Ok("pause"), Does.Contain("Paused all queues"));
        Assert.That(File.Exists(home.PathOf("paused")), Is.True, "the switch is a file under the home");
        home.Ok("enqueue", "--command", "true", "--id", "held");
        StaysPending(home, "held", Held);
        WaitForWorkers(home, "paused", 1);

        Assert.That(home.Ok("status"), Does.Match(@"paused\s+all queues since .* \(queuectl resume\)"));
        var status = home.Json("status");
        Assert.That(status.GetProperty("paused").GetBoolean(), Is.True);
        Assert.That(status.GetProperty("paused_since").GetString(), Does.EndWith("Z"));
        Assert.That(home.Ok("worker", "list"), Does.Contain("Paused: all queues").And.Contain("paused"));

        Assert.That(home.Ok("resume"), Does.Contain("Resumed all queues"));
        Assert.That(File.Exists(home.PathOf("paused")), Is.False);
        home.WaitForState("held", "completed", TimeSpan.FromSeconds(3));
        WaitForWorkers(home, "idle", 1);
        Assert.That(home.Json("status").GetProperty("paused").GetBoolean(), Is.False);
        Assert.That(home.Ok("status"), Does.Not.Contain("paused"));
        home.Ok("worker", "stop");
    }

    [Test]
    public void Pause_LetsTheRunningJobFinish_ThenTakesNothingNew()
    {
        using var home = new TempHome(inProcess: false);
        using var worker = new ForegroundWorker(home);
        var flag = Path.Combine(home.Parent, "go");
        home.Ok("enqueue", "--command", $"while [ ! -e '{flag}' ]; do sleep 0.05; done; echo finished", "--id", "running");
        Eventually.True(() => Directory.EnumerateFiles(home.PathOf("processing"), "running.json", SearchOption.AllDirectories).Any(),
            TimeSpan.FromSeconds(10), "the job to be claimed");

        home.Ok("pause");
        File.WriteAllText(flag, "");
        home.WaitForState("running", "completed", TimeSpan.FromSeconds(10));
        Assert.That(home.Ok("logs", "running"), Does.Contain("finished"));

        home.Ok("enqueue", "--command", "true", "--id", "next");
        StaysPending(home, "next", Held);
        Eventually.True(() => worker.Output.Contains("paused: taking no new job", StringComparison.Ordinal), TimeSpan.FromSeconds(5), "the worker to log the pause");
    }

    [Test]
    public void Pause_SurvivesAWorkerRestart()
    {
        using var home = new TempHome(inProcess: false);
        home.StartWorkers(2);
        WaitForWorkers(home, "idle", 2);
        home.Ok("pause");
        home.Ok("worker", "stop");

        home.StartWorkers(2);
        WaitForWorkers(home, "paused", 2); // new workers see the switch at their first turn
        home.Ok("enqueue", "--command", "true", "--id", "after-restart");
        StaysPending(home, "after-restart", Held);

        home.Ok("resume");
        home.WaitForState("after-restart", "completed", TimeSpan.FromSeconds(3));
        home.Ok("worker", "stop");
    }

    [Test]
    public void PauseQueue_Default_HoldsTodaysJobs_AndNeedsItsOwnResume()
    {
        using var home = new TempHome(inProcess: false);
        home.StartWorkers(1);
        WaitForWorkers(home, "idle", 1);

        Assert.That(home.Ok("pause", "--queue", "default"), Does.Contain("Paused queue default"));
        Assert.That(File.Exists(home.PathOf("paused.d", "default")), Is.True);
        home.Ok("enqueue", "--command", "true", "--id", "queued");
        StaysPending(home, "queued", Held);
        var status = home.Json("status");
        Assert.That(status.GetProperty("paused").GetBoolean(), Is.False, "not every queue");
        Assert.That(status.GetProperty("paused_queues").EnumerateArray().Select(q => q.GetString()), Is.EqualTo(new[] { "default" }));

        Assert.That(home.Ok("resume"), Does.Contain("not paused").And.Contain("Still paused: queue default"));
        StaysPending(home, "queued", TimeSpan.FromSeconds(0.5));
        home.Ok("resume", "--queue", "default");
        Assert.That(File.Exists(home.PathOf("paused.d", "default")), Is.False);
        home.WaitForState("queued", "completed", TimeSpan.FromSeconds(3));
        home.Ok("worker", "stop");
    }

    [Test]
    public void RefusedAndRepeatedRequests_ChangeNothing()
    {
        using var home = new TempHome(inProcess: false);
        var before = home.Tree();
        var bad = home.Run("pause", "--queue", "../escape");
        Assert.That(bad.ExitCode, Is.EqualTo(2), bad.ToString());
        Assert.That(bad.Stderr, Does.Contain("Invalid queue name"));
        Assert.That(home.Run("resume", "--queue", "").ExitCode, Is.EqualTo(2));
        Assert.That(home.Tree(), Is.EqualTo(before), "a refused request changes nothing");

        Assert.That(home.Ok("resume"), Does.Contain("were not paused"));
        home.Ok("pause");
        var written = File.ReadAllText(home.PathOf("paused"));
        Assert.That(JsonDocument.Parse(written).RootElement.GetProperty("paused_at").GetString(), Does.EndWith("Z"));
        Assert.That(home.Ok("pause"), Does.Contain("already paused"));
        Assert.That(File.ReadAllText(home.PathOf("paused")), Is.EqualTo(written), "a second pause keeps the first one's time");
        Assert.That(Directory.EnumerateFiles(home.PathOf("tmp"), "*", SearchOption.AllDirectories), Is.Empty, "no staged file left behind");
        var json = home.Json("pause");
        Assert.That(json.GetProperty("changed").GetBoolean(), Is.False);

        using var missing = new TempHome(create: false, inProcess: false);
        var noHome = missing.Run("pause");
        Assert.That(noHome.ExitCode, Is.EqualTo(1), noHome.ToString());
        Assert.That(noHome.Stderr, Does.Contain("queuectl init"));
        Assert.That(Directory.Exists(missing.Root), Is.False);
    }

    [Test]
    public void Dashboard_ShowsThePauseAndThePausedWorkers()
    {
        using var home = new TempHome(inProcess: false);
        using var worker = new ForegroundWorker(home);
        home.Ok("pause");
        home.Ok("enqueue", "--command", "true", "--id", "held");
        using var dashboard = new DashboardProcess(home);

        using (var status = JsonDocument.Parse(dashboard.Client.GetStringAsync("/api/status").Result))
        {
            Assert.That(status.RootElement.GetProperty("paused").GetBoolean(), Is.True);
            Assert.That(status.RootElement.GetProperty("pending").GetInt32(), Is.EqualTo(1));
        }
        Eventually.True(() =>
        {
            using var workers = JsonDocument.Parse(dashboard.Client.GetStringAsync("/api/workers").Result);
            return workers.RootElement.EnumerateArray().Single().GetProperty("state").GetString() == "paused";
        }, TimeSpan.FromSeconds(5), "/api/workers to show the worker paused");
        Assert.That(dashboard.Client.GetStringAsync("/").Result, Does.Contain("id=\"paused\""));
        Assert.That(dashboard.Client.GetStringAsync("/metrics").Result, Does.Contain("queuectl_workers{state=\"paused\"} 1\n"));
    }
}
