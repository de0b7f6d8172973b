using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>kill -9 at any moment: nothing lost, nothing in two places, every job reaches completed or dead.</summary>
[Category("EndToEnd")]
[NonParallelizable] // short leases, kill -9 chaos: a loaded machine would judge live workers dead
public class CrashTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Test]
    public void Chaos_300Jobs_WhileWorkersAreKilledWithSigkill_NothingLostNothingDuplicated()
    {
        const int total = 300;
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "worker-lease", "3s");
        home.Ok("config", "set", "backoff-base", "1");
        var lines = Enumerable.Range(0, total).Select(i => i % 30 == 0
            ? $"{{\"id\":\"bad{i:000}\",\"command\":\"exit 9\",\"max_retries\":1}}"
            : $"{{\"id\":\"job{i:000}\",\"command\":\"echo $QUEUECTL_JOB_ID >> runs.txt; sleep 0.2\"}}");
        Assert.That(home.RunWithInput(string.Join('\n', lines), "enqueue", "-").ExitCode, Is.EqualTo(0));

        var workers = home.StartWorkers(3, processes: 3); // each kill takes down one worker
        var random = new Random(42);
        var kills = 0;
        for (var round = 0; round < 6; round++)
        {
            var doneBefore = home.Ids("completed").Count;
            Eventually.True(() => home.Ids("completed").Count >= Math.Min(doneBefore + 25, total - 10), TimeSpan.FromSeconds(60), "progress between kills");
            var victim = workers[random.Next(workers.Count)];
            Processes.Signal(WorkerFiles.Pid(home, victim), 9);
            kills++;
            workers.Remove(victim);
            workers.AddRange(home.StartWorkers(1));
        }
        Eventually.True(() => home.Ids("completed").Count + home.Ids("dead").Count == total, TimeSpan.FromMinutes(2), "every job completed or dead");
        home.Ok("worker", "stop");

        var everywhere = WorkerFiles.AllJobs(home);
        var completed = home.Ids("completed");
        var dead = home.Ids("dead");
        var ran = File.ReadAllLines(Path.Combine(home.Parent, "runs.txt"));
        var recovered = completed.Count(id => File.ReadAllText(home.PathOf("completed", id + ".json")).Contains("died", StringComparison.Ordinal));
        TestContext.Out.WriteLine($"{kills} kills, {recovered} jobs recovered from killed workers, {ran.Length - ran.Distinct().Count()} re-runs");
        Assert.Multiple(() =>
        {
            Assert.That(everywhere, Has.Count.EqualTo(total), "each job in exactly one place");
            Assert.That(everywhere.Select(j => j.Id).Distinct().Count(), Is.EqualTo(total), "no job in two places");
            Assert.That(dead, Is.EqualTo(Enumerable.Range(0, 10).Select(i => $"bad{i * 30:000}")), "dead only by their own failures");
            Assert.That(completed, Has.Count.EqualTo(total - 10));
            Assert.That(ran.Distinct().Order(), Is.EqualTo(completed.Order()), "every good job ran (at least once)");
            Assert.That(Directory.EnumerateFileSystemEntries(home.PathOf("processing")), Is.Empty, "processing/ empty");
            Assert.That(recovered, Is.GreaterThan(0), "some kills hit a running job, and recovery returned it");
        });
    }

    [Test]
    public void KilledWorker_ItsJobIsRecoveredByALiveWorker_WithinTheLease()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "worker-lease", "3s");
        home.Ok("config", "set", "backoff-base", "1");
        home.Ok("enqueue", "--command", "[ \"$QUEUECTL_ATTEMPT\" -gt 1 ] || sleep 30.2", "--id", "victim");
        var first = home.StartWorkers(1)[0];
        Eventually.True(() => Processes.WithCommandLineContaining("sleep 30.2").Count > 0, Deadline, "the job to run");
        var pid = WorkerFiles.Pid(home, first);

        Processes.Signal(pid, 9);
        var killedAt = DateTime.UtcNow;
        home.StartWorkers(1);
        Eventually.True(() => !File.Exists(home.PathOf("processing", first, "victim.json")), Deadline, "recovery");
        var recoveredAfter = DateTime.UtcNow - killedAt;
        home.WaitForState("victim", "completed", Deadline);

        var job = home.ReadJob("completed", "victim");
        var history = job.GetProperty("history");
        TestContext.Out.WriteLine($"recovered {recoveredAfter.TotalSeconds:0.0} s after the kill");
        Assert.That(recoveredAfter.TotalSeconds, Is.LessThan(3 + 2), "within the lease (plus a heartbeat)");
        Assert.That(history[0].GetProperty("error").GetString(), Does.Contain($"worker {first} died"));
        Assert.That(job.GetProperty("attempts").GetInt32(), Is.EqualTo(2));
        Assert.That(File.Exists(home.PathOf("workers", first + ".json")), Is.False);
        Assert.That(Directory.Exists(home.PathOf("processing", first)), Is.False);
    }

    [Test]
    public void RecoverCommand_ReturnsADeadWorkersJob_AtOnce()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "sleep 30.3", "--id", "held", "--max-retries", "0");
        var worker = home.StartWorkers(1)[0];
        Eventually.True(() => Processes.WithCommandLineContaining("sleep 30.3").Count > 0, Deadline, "the job to run");
        var pid = WorkerFiles.Pid(home, worker);
        Processes.Signal(pid, 9);
        Eventually.True(() => !Processes.IsAlive(pid), Deadline, "the worker to die");

        var result = home.Run("recover");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain("held: dead").And.Contain(worker));
        var job = home.ReadJob("dead", "held");
        Assert.That(job.GetProperty("last_error").GetString(), Does.Contain($"worker {worker} died"));
        Assert.That(File.Exists(home.PathOf("workers", worker + ".json")), Is.False);
        Assert.That(Directory.Exists(home.PathOf("processing", worker)), Is.False);
    }

    [Test]
    public void WorkerOnAnotherHost_IsJudgedByItsHeartbeat_NotByPid()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "worker-lease", "10s");
        void Fake(string workerId, DateTime heartbeat)
        {
            File.WriteAllText(home.PathOf("workers", workerId + ".json"),
                $$"""{"id":"{{workerId}}","pid":999999,"host":"some-other-host","started_at":"2025-01-01T00:00:00Z","state":"busy","current_job":"j-{{workerId}}","heartbeat_at":"{{heartbeat:yyyy-MM-ddTHH:mm:ss.fffZ}}"}""");
            Directory.CreateDirectory(home.PathOf("processing", workerId));
            File.WriteAllText(home.PathOf("processing", workerId, $"j-{workerId}.json"),
                $$"""{"id":"j-{{workerId}}","command":"true","state":"processing","attempts":0,"max_retries":2,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","worker_id":"{{workerId}}"}""");
        }
        // Liveness reads the registration's mtime on the file system's clock, not the JSON's
        // heartbeat_at (written by the other host's possibly skewed clock): fresh has a heartbeat_at
        // an hour in the past but a file touched now; stale is aged with a set mtime.
        Fake("w-fresh", DateTime.UtcNow.AddHours(-1));
        Fake("w-stale", DateTime.UtcNow);
        File.SetLastWriteTimeUtc(home.PathOf("workers", "w-stale.json"), DateTime.UtcNow.AddSeconds(-60));

        var result = home.Run("recover");

        Assert.That(result.Stdout, Does.Contain("j-w-stale: failed"));
        Assert.That(result.Stdout, Does.Not.Contain("j-w-fresh"));
        Assert.That(File.Exists(home.PathOf("processing", "w-fresh", "j-w-fresh.json")), Is.True,
            "pid 999999 is not checked on another host, and a skewed heartbeat_at does not matter");
        Assert.That(home.ReadJob("failed", "j-w-stale").GetProperty("last_error").GetString(), Does.Contain("no heartbeat"));
    }

    [Test]
    public void WorkerWhoseJobWasTakenBack_HasItsAttemptKilled_LeavesTheNewerState_AndNotesItsLateFinishInTheHistory()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "sleep 2.3; echo ran", "--id", "fenced", "--max-retries", "0");
        var worker = home.StartWorkers(1)[0];
        Eventually.True(() => Processes.WithCommandLineContaining("sleep 2.3").Count > 0, Deadline, "the job to run");

        // The worker is alive but its lease looks expired (a host cut off from the shared file
        // system): recovery kills the run on this host and takes the job back, here into dead/
        // (no retries left).
        Eventually.True(() =>
        {
            File.SetLastWriteTimeUtc(home.PathOf("workers", worker + ".json"), DateTime.UtcNow.AddHours(-1));
            home.Run("recover");
            return File.Exists(home.PathOf("dead", "fenced.json"));
        }, Deadline, "recovery to take the job back");

        // The killed command ends; the worker's finish is fenced, and its real result is noted in the history.
        Eventually.True(() =>
        {
            try
            {
                return home.ReadJob("dead", "fenced").GetProperty("history")[0].TryGetProperty("late_finish", out _);
            }
            catch (FileNotFoundException)
            {
                return false; // borrowed into the worker's folder for the note this very moment
            }
        }, Deadline, "the late finish noted in the job's history");
        home.Ok("worker", "stop");

        var job = home.ReadJob("dead", "fenced");
        var entry = job.GetProperty("history")[0];
        var late = entry.GetProperty("late_finish");
        Assert.Multiple(() =>
        {
            Assert.That(WorkerFiles.AllJobs(home), Is.EqualTo(new[] { ("dead", "fenced") }), "still one file, in dead/");
            Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("dead"), "the newer state was not overwritten");
            Assert.That(job.GetProperty("history").GetArrayLength(), Is.EqualTo(1), "the fenced attempt is not counted again");
            Assert.That(entry.GetProperty("error").GetString(), Does.Contain("no heartbeat"), "the recoverer's entry stays");
            Assert.That(late.GetProperty("worker").GetString(), Is.EqualTo(worker));
            Assert.That(late.GetProperty("exit_code").GetInt32(), Is.EqualTo(137), "killed by recovery before the job moved");
            Assert.That(late.GetProperty("note").GetString(), Does.Contain("would have been dead"));
            Assert.That(File.ReadAllText(home.PathOf("logs", "fenced", "attempt-1.log")), Does.Not.Contain("ran\n").And.Contain("taken back from it"));
            Assert.That(File.ReadAllText(home.PathOf("workers", worker + ".log")), Does.Contain("noted this worker's late finish of attempt 1"));
        });
    }

    [TestCase("""{"command":"echo dropped"}""", "dropped.json", TestName = "ClaimThatNeverStarted_DroppedFile_GoesBackToPending_AsItWas")]
    [TestCase("""{"id":"plain","command":"true","state":"pending","attempts":0,"max_retries":3,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}""",
        "plain.json", TestName = "ClaimThatNeverStarted_PendingJob_GoesBackToPending_WithoutAnAttempt")]
    public void ClaimThatNeverStarted_GoesBackToPending(string content, string name)
    {
        // A worker killed between the claim's rename and its rewrite leaves the file as it was in
        // pending/, in its processing folder: the job never ran, so no attempt is counted.
        using var home = new TempHome(inProcess: false);
        Directory.CreateDirectory(home.PathOf("processing", "w-gone"));
        File.WriteAllText(home.PathOf("processing", "w-gone", name), content);

        var output = home.Ok("recover");

        Assert.That(output, Does.Contain("pending"));
        Assert.That(File.ReadAllText(home.PathOf("pending", name)), Is.EqualTo(content), "unchanged");
        Assert.That(Directory.Exists(home.PathOf("processing", "w-gone")), Is.False);
        Assert.That(Directory.EnumerateFiles(home.PathOf("rejected")), Is.Empty);
    }

    [Test]
    public void SecondSigterm_StopsAtOnce_KillsTheJob_AndRecoveryReturnsIt()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "sleep 31.7", "--id", "interrupted");
        var worker = home.StartWorkers(1)[0];
        Eventually.True(() => Processes.WithCommandLineContaining("sleep 31.7").Count > 0, Deadline, "the job to run");
        var pid = WorkerFiles.Pid(home, worker);

        Processes.Signal(pid, 15);
        // Two SIGTERMs sent back to back can merge into one delivery: send the second once the
        // first has been handled.
        Eventually.True(() => File.ReadAllText(home.PathOf("workers", worker + ".log")).Contains("send it again", StringComparison.Ordinal),
            Deadline, "the first SIGTERM to be handled");
        Processes.Signal(pid, 15);

        Eventually.True(() => !Processes.IsAlive(pid), TimeSpan.FromSeconds(5), "the worker to exit at once");
        Eventually.True(() => Processes.WithCommandLineContaining("sleep 31.7").Count == 0, TimeSpan.FromSeconds(5), "the job's process to be killed");
        Assert.That(File.Exists(home.PathOf("processing", worker, "interrupted.json")), Is.True, "left claimed for recovery");
        Assert.That(home.Ok("recover"), Does.Contain("interrupted: failed"));
        Assert.That(home.ReadJob("failed", "interrupted").GetProperty("last_error").GetString(), Does.Contain(worker));
    }
}
