using System.Diagnostics;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>stats, purge, and colour in human output.</summary>
[Parallelizable(ParallelScope.All)]
public class HousekeepingTests
{
    private static void Finished(TempHome home, string state, string id, DateTime finished, double duration, int attempts = 1)
    {
        var started = finished.AddSeconds(-duration);
        string T(DateTime t) => t.ToString("yyyy-MM-ddTHH:mm:ss.fffZ");
        var history = string.Join(",", Enumerable.Range(1, attempts).Select(n =>
            $$"""{"attempt":{{n}},"worker":"w","started_at":"{{T(started)}}","finished_at":"{{T(finished)}}","duration_seconds":{{duration}},"exit_code":{{(state == "completed" ? 0 : 1)}},"outcome":"{{(n == attempts ? state : "failed")}}"}"""));
        File.WriteAllText(home.PathOf(state, id + ".json"),
            $$"""{"id":"{{id}}","command":"true","state":"{{state}}","attempts":{{attempts}},"max_retries":3,"created_at":"{{T(started)}}","updated_at":"{{T(finished)}}","started_at":"{{T(started)}}","finished_at":"{{T(finished)}}","history":[{{history}}]}""");
        Directory.CreateDirectory(home.PathOf("logs", id));
        File.WriteAllText(home.PathOf("logs", id, "attempt-1.log"), "output\n");
    }

    [Test]
    public void Stats_ReportsRatesDurationsAndThroughput_OverTheWindow()
    {
        using var home = new TempHome();
        var now = DateTime.UtcNow;
        Finished(home, "completed", "c1", now.AddMinutes(-1), 1.0);
        Finished(home, "completed", "c2", now.AddMinutes(-2), 2.0);
        Finished(home, "completed", "c3", now.AddMinutes(-3), 3.0);
        Finished(home, "dead", "d1", now.AddMinutes(-4), 10.0, attempts: 3);
        Finished(home, "completed", "old", now.AddDays(-2), 99.0);
        home.Ok("enqueue", "--command", "true", "--id", "waiting");

        var stats = home.Json("stats", "--window", "10m");

        Assert.Multiple(() =>
        {
            Assert.That(stats.GetProperty("counts").GetProperty("completed").GetInt32(), Is.EqualTo(4));
            Assert.That(stats.GetProperty("counts").GetProperty("pending").GetInt32(), Is.EqualTo(1));
            Assert.That(stats.GetProperty("finished").GetInt32(), Is.EqualTo(4), "the old one is outside the window");
            Assert.That(stats.GetProperty("success_rate").GetDouble(), Is.EqualTo(0.75));
            Assert.That(stats.GetProperty("attempts_per_job").GetDouble(), Is.EqualTo(1.5));
            Assert.That(stats.GetProperty("attempts").GetInt32(), Is.EqualTo(6));
            Assert.That(stats.GetProperty("duration_p50_seconds").GetDouble(), Is.EqualTo(3.0));
            Assert.That(stats.GetProperty("duration_p95_seconds").GetDouble(), Is.EqualTo(10.0));
            Assert.That(stats.GetProperty("jobs_per_minute").GetDouble(), Is.EqualTo(0.4));
        });
        Assert.That(home.Ok("stats", "--window", "10m"), Does.Contain("success rate  75 %").And.Contain("duration p95  10 s"));
    }

    [Test]
    public void Purge_DeletesOnlyOldFinishedJobs_AndTheirLogs_DryRunDeletesNothing()
    {
        using var home = new TempHome();
        var now = DateTime.UtcNow;
        Finished(home, "completed", "old", now.AddDays(-8), 1);
        Finished(home, "completed", "new", now.AddHours(-1), 1);
        Finished(home, "dead", "olddead", now.AddDays(-30), 1);
        var before = home.Tree();

        var dry = home.Ok("purge", "--state", "completed", "--older-than", "7d", "--dry-run");
        Assert.That(dry, Does.Contain("old\n").And.Contain("Would purge 1 completed job"));
        Assert.That(home.Tree(), Is.EqualTo(before));

        var purged = home.Json("purge", "--state", "completed", "--older-than", "7d");

        Assert.That(purged.GetProperty("purged").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "old" }));
        Assert.That(home.Ids("completed"), Is.EqualTo(new[] { "new" }));
        Assert.That(Directory.Exists(home.PathOf("logs", "old")), Is.False);
        Assert.That(Directory.Exists(home.PathOf("logs", "new")), Is.True);
        Assert.That(home.Ids("dead"), Is.EqualTo(new[] { "olddead" }));
        home.Ok("purge", "--state", "dead");
        Assert.That(home.Ids("dead"), Is.Empty);
    }

    [TestCase("pending")]
    [TestCase("failed")]
    public void Purge_RefusesUnfinishedStates(string state)
    {
        using var home = new TempHome();
        home.Ok("enqueue", "--command", "true");
        var before = home.Tree();

        var result = home.Run("purge", "--state", state);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Stderr, Does.Contain("completed").And.Contain("dead"));
        Assert.That(home.Tree(), Is.EqualTo(before));
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void Colour_OnlyOnATerminal_AndNeverUnderNoColor()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "true");

        string OnTerminal(bool noColor)
        {
            var start = new ProcessStartInfo("script") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in new[] { "-qec", $"'{QueueCtlProcess.Executable}' status --home '{home.Root}'", "/dev/null" })
            {
                start.ArgumentList.Add(arg);
            }
            start.Environment["TERM"] = "xterm";
            start.Environment.Remove("NO_COLOR");
            if (noColor)
            {
                start.Environment["NO_COLOR"] = "1";
            }
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return output;
        }

        Assert.That(OnTerminal(noColor: false), Does.Contain("\u001b[36mpending\u001b[0m"));
        Assert.That(OnTerminal(noColor: true), Does.Contain("pending").And.Not.Contain("\u001b[36m"));
        Assert.That(home.Ok("status"), Does.Not.Contain("\u001b["), "piped: no colour");
    }
}
