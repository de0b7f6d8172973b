using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>`worker start --count N` runs N workers in one process (one index); `--processes P` spreads them.</summary>
[Category("EndToEnd")]
public class MultiWorkerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Test]
    public void CountThree_OneProcess_ThreeWorkersShareTheJobs_EachRunsOnce()
    {
        using var home = new TempHome(inProcess: false);
        var ids = home.StartWorkers(3);

        Assert.That(ids.Select(id => WorkerFiles.Pid(home, id)).Distinct().Count(), Is.EqualTo(1), "one process");
        var lines = Enumerable.Range(0, 30).Select(i => $"{{\"id\":\"j{i:00}\",\"command\":\"echo $QUEUECTL_JOB_ID >> runs.txt; sleep 0.2\"}}");
        Assert.That(home.RunWithInput(string.Join('\n', lines), "enqueue", "-").ExitCode, Is.EqualTo(0));
        Eventually.True(() => home.Ids("completed").Count == 30, Deadline, "every job completed");

        var ran = File.ReadAllLines(Path.Combine(home.Parent, "runs.txt"));
        var by = home.Ids("completed").Select(id => home.ReadJob("completed", id).GetProperty("history")[0].GetProperty("worker").GetString()).Distinct().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(ran.Order(), Is.EqualTo(home.Ids("completed").Order()), "each job ran exactly once");
            Assert.That(by, Has.Count.GreaterThan(1), "the jobs were shared among the workers of the process");
            Assert.That(by, Is.SubsetOf(ids));
        });
        home.Ok("worker", "stop");
        Assert.That(Directory.EnumerateFiles(home.PathOf("workers"), "*.json"), Is.Empty, "every worker of the process stopped");
    }

    [Test]
    public void Processes_SpreadsTheWorkers_AndIsCheckedAgainstCount()
    {
        using var home = new TempHome(inProcess: false);
        var ids = home.StartWorkers(4, processes: 2);

        var pids = ids.Select(id => WorkerFiles.Pid(home, id)).ToList();
        Assert.That(pids.Distinct().Count(), Is.EqualTo(2));
        Assert.That(pids[0], Is.EqualTo(pids[1]));
        Assert.That(pids[2], Is.EqualTo(pids[3]));
        Assert.That(home.Run("worker", "start", "--count", "2", "--processes", "3").ExitCode, Is.EqualTo(2));
        Assert.That(home.Run("worker", "start", "--count", "2", "--processes", "2", "--foreground").ExitCode, Is.EqualTo(2));

        Assert.That(home.Ok("worker", "stop"), Does.Contain("Stopped 4 workers."));
        Assert.That(pids.Distinct().All(pid => !Processes.IsAlive(pid)), Is.True);
    }

    [Test]
    public void KillMinus9_OfAProcess_KillsEachOfItsWorkersRuns_AndAnotherProcessRecoversThem()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "worker-lease", "3s");
        var victims = home.StartWorkers(2);
        var pid = WorkerFiles.Pid(home, victims[0]);
        // A second run finishes at once: only the first one sleeps.
        foreach (var id in new[] { "a", "b" })
        {
            home.Ok("enqueue", "--id", id, "--command", "test -e $QUEUECTL_JOB_ID.again && exit 0; touch $QUEUECTL_JOB_ID.again; echo $$ >> pids.txt; exec sleep 60");
        }
        var pidsFile = Path.Combine(home.Parent, "pids.txt");
        Eventually.True(() => File.Exists(pidsFile) && File.ReadAllLines(pidsFile).Length == 2, Deadline, "both jobs running, one per worker");
        var jobPids = File.ReadAllLines(pidsFile).Select(int.Parse).ToList();

        Processes.Signal(pid, 9);

        Eventually.True(() => jobPids.All(p => !Processes.IsAlive(p)), Deadline, "each worker's guard killed its attempt");
        home.StartWorkers(1);
        Eventually.True(() => home.Ids("completed").Count == 2, Deadline, "both jobs recovered and run again elsewhere");
        Eventually.True(() => victims.All(v => !Directory.Exists(home.PathOf("processing", v))), Deadline, "the killed workers' folders recovered");
        home.Ok("worker", "stop");
    }
}
