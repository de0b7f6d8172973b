using System.Diagnostics;
using System.Text;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>Timeouts, scheduling, logs and the log size cap, with real workers.</summary>
[Category("EndToEnd")]
[NonParallelizable] // asserts a scheduled start within 500 ms
public class JobFeatureTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static DateTime Time(System.Text.Json.JsonElement e, string name) => e.GetProperty(name).GetDateTime().ToUniversalTime();

    [Test]
    public void Timeout_KillsTheWholeProcessTree_AndFollowsTheRetryRules()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "backoff-base", "1");
        home.Ok("enqueue", "--command", "sh -c \"sleep 101.3 & sleep 101.3\"", "--id", "tree", "--timeout", "1s", "--max-retries", "1");

        home.StartWorkers(1);
        Eventually.True(() => Processes.WithCommandLine("sleep 101.3").Count == 2, Deadline, "both sleeps to run");
        home.WaitForState("tree", "dead", Deadline);

        Assert.That(Processes.WithCommandLineContaining("101.3"), Is.Empty, "no survivor of the process tree");
        var job = home.ReadJob("dead", "tree");
        Assert.That(job.GetProperty("last_error").GetString(), Is.EqualTo("timed out after 1 s"));
        Assert.That(job.GetProperty("attempts").GetInt32(), Is.EqualTo(2), "timed out, retried once, timed out again");
        foreach (var attempt in job.GetProperty("history").EnumerateArray())
        {
            Assert.That(attempt.GetProperty("duration_seconds").GetDouble(), Is.InRange(0.9, 2.5));
        }
        Assert.That(File.ReadAllText(home.PathOf("logs", "tree", "attempt-1.log")), Does.Contain("[queuectl] timed out after 1 s"));
    }

    [Test]
    public void ScheduledJob_NeverStartsEarly_AndStartsOnTime()
    {
        using var home = new TempHome(inProcess: false);
        var runAt = DateTime.UtcNow.AddSeconds(3);
        home.Ok("enqueue", $$"""{"id":"at","command":"true","run_at":"{{runAt:yyyy-MM-ddTHH:mm:ss.fffZ}}"}""");
        home.Ok("enqueue", "--command", "true", "--id", "delayed", "--delay", "2s");
        var status = home.Json("status");
        Assert.That(status.GetProperty("scheduled").GetInt32(), Is.EqualTo(2));
        Assert.That(status.GetProperty("next_run").GetDateTime().ToUniversalTime(), Is.LessThan(runAt));
        var notBefore = new[] { "at", "delayed" }.ToDictionary(id => id, id => Time(home.ReadJob("pending", id), "not_before"));

        home.StartWorkers(2);
        home.WaitForState("at", "completed", Deadline);
        home.WaitForState("delayed", "completed", Deadline);

        foreach (var id in new[] { "at", "delayed" })
        {
            var job = home.ReadJob("completed", id);
            var late = Time(job, "started_at") - notBefore[id];
            TestContext.Out.WriteLine($"{id} started {late.TotalMilliseconds:0} ms after not_before");
            Assert.That(late, Is.GreaterThanOrEqualTo(TimeSpan.Zero), "never early");
            Assert.That(late, Is.LessThan(TimeSpan.FromMilliseconds(500)), "on time");
        }
    }

    [Test]
    public void Logs_PrintsTheLatestAttempt_OrTheOneAskedFor()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "backoff-base", "1");
        home.Ok("enqueue", "--command", "echo attempt $QUEUECTL_ATTEMPT; [ $QUEUECTL_ATTEMPT -ge 2 ]", "--id", "twice");
        home.StartWorkers(1);
        home.WaitForState("twice", "completed", Deadline);

        Assert.That(home.Ok("logs", "twice"), Is.EqualTo("attempt 2\n"));
        Assert.That(home.Ok("logs", "twice", "--attempt", "1"), Is.EqualTo("attempt 1\n"));
        var missing = home.Run("logs", "twice", "--attempt", "5");
        Assert.That(missing.ExitCode, Is.EqualTo(1));
        Assert.That(missing.Stderr, Does.Contain("attempts 1 to 2"));
        Assert.That(home.Run("logs", "nosuchjob").ExitCode, Is.EqualTo(1));
    }

    [Test]
    public void LogsFollow_StreamsARunningJob_UntilItEnds()
    {
        using var home = new TempHome(inProcess: false);
        var marker = Path.Combine(home.Parent, "go");
        home.Ok("enqueue", "--command", $"echo first; while [ ! -f '{marker}' ]; do sleep 0.05; done; echo second", "--id", "streamed");
        home.StartWorkers(1);
        Eventually.True(() => Processes.WithCommandLineContaining(marker).Count > 0, Deadline, "the job to run");

        var start = new ProcessStartInfo(QueueCtlProcess.Executable) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "logs", "streamed", "--follow", "--home", home.Root })
        {
            start.ArgumentList.Add(arg);
        }
        using var follow = Process.Start(start)!;
        var output = new StringBuilder();
        var reader = Task.Run(() =>
        {
            int c;
            while ((c = follow.StandardOutput.Read()) >= 0)
            {
                lock (output)
                {
                    output.Append((char)c);
                }
            }
        });
        string Seen()
        {
            lock (output)
            {
                return output.ToString();
            }
        }

        Eventually.True(() => Seen() == "first\n", Deadline, "the output so far, while the job still runs");
        Assert.That(follow.HasExited, Is.False, "still following");
        File.WriteAllText(marker, "");
        Assert.That(follow.WaitForExit(Deadline), Is.True, "follow ends when the job ends");
        reader.Wait(Deadline);

        Assert.That(Seen(), Is.EqualTo("first\nsecond\n"));
        Assert.That(follow.ExitCode, Is.EqualTo(0));
        Assert.That(File.Exists(home.PathOf("completed", "streamed.json")), Is.True);
    }

    [Test]
    public void LogSizeCap_CutsAChattyJob_AndSaysSo()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "log-max-size", "1K");
        home.Ok("enqueue", "--command", "i=0; while [ $i -lt 500 ]; do echo 0123456789; i=$((i+1)); done", "--id", "chatty");

        home.StartWorkers(1);
        home.WaitForState("chatty", "completed", Deadline);

        var log = File.ReadAllText(home.PathOf("logs", "chatty", "attempt-1.log"));
        Assert.That(log, Does.StartWith("0123456789\n"));
        Assert.That(log, Does.Contain("[queuectl] output cut at 1K (log-max-size): 4476 more bytes were not kept"));
        Assert.That(log.Length, Is.LessThan(1024 + 200));
    }
}
