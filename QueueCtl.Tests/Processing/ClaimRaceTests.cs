using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>The claim under real contention: several worker processes, thousands of jobs.</summary>
[Category("EndToEnd")]
[NonParallelizable] // 5,000 jobs on 4 workers: CPU-bound
public class ClaimRaceTests
{
    [Test]
    public void FourWorkers_FiveThousandJobs_NoJobClaimedTwice()
    {
        const int jobs = 5000;
        using var home = new TempHome(inProcess: false);
        var runs = Path.Combine(home.Parent, "runs.txt");
        var lines = Enumerable.Range(0, jobs).Select(i => $"{{\"id\":\"r{i}\",\"command\":\"echo $QUEUECTL_JOB_ID >> {runs}\"}}");
        var enqueue = home.RunWithInput(string.Join('\n', lines), "enqueue", "-");
        Assert.That(enqueue.ExitCode, Is.EqualTo(0), enqueue.ToString());

        home.StartWorkers(4);
        Eventually.True(() => home.Ids("completed").Count == jobs, TimeSpan.FromMinutes(4), $"{jobs} completed jobs");
        home.Ok("worker", "stop");

        var ran = File.ReadAllLines(runs);
        var twice = ran.GroupBy(id => id).Count(g => g.Count() > 1);
        TestContext.Out.WriteLine($"{ran.Length} runs, {twice} ids run more than once");
        Assert.That(twice, Is.EqualTo(0), "double claims");
        Assert.That(ran, Has.Length.EqualTo(jobs));
        Assert.That(home.Ids("pending").Count + home.Ids("failed").Count + home.Ids("dead").Count, Is.EqualTo(0));
        var workersUsed = Directory.EnumerateFiles(home.PathOf("completed"))
            .Select(p => File.ReadAllText(p))
            .Select(t => t[(t.IndexOf("\"worker\": \"", StringComparison.Ordinal) + 11)..].Split('"')[0])
            .Distinct()
            .Count();
        Assert.That(workersUsed, Is.EqualTo(4), "all four workers competed");
    }
}
