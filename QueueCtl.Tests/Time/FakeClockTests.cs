using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using QueueCtl.Cli;
using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Processing;
using QueueCtl.Retries;
using QueueCtl.Protocol;
using QueueCtl.Storage;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Time;

/// <summary>
/// Backoff, leases, scheduling and retention judged on a fake clock, in this process: no worker
/// process, no command run, no real waiting. Each test moves the clock by hand to one millisecond
/// before and after its deadline.
/// </summary>
public class FakeClockTests
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan OneMs = TimeSpan.FromMilliseconds(1);

    private string _root = "";
    private QueueHome _home = null!;
    private FakeTimeProvider _clock = null!;

    [SetUp]
    public void SetUp()
    {
        _root = Path.Combine(Directory.CreateTempSubdirectory("queuectl-fakeclock-").FullName, "home");
        _home = new QueueHome(_root);
        _home.EnsureCreated();
        _clock = new FakeTimeProvider(Start);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(Path.GetDirectoryName(_root)!, recursive: true);

    private DateTime Now => _clock.GetUtcNow().UtcDateTime;

    [Test]
    public void FailedJob_RunsAgainAtNowPlusBaseToTheAttempts_NeverBefore()
    {
        var settings = new Settings { BackoffBase = 3, BackoffMaxSeconds = 3600 };
        var id = Enqueue("""{"command":"false","max_retries":5}""");
        using var index = new JobIndex(_home, _clock);
        var claimer = new Claimer(_home.ForWorker("w1"), "w1");

        for (var attempts = 1; attempts <= 3; attempts++)
        {
            var candidate = NextCandidate(index);
            Assert.That(candidate?.Path, Does.EndWith($"{id}.json"), $"due for attempt {attempts}");
            var claimed = claimer.TryClaim(candidate!.Path, candidate.State, settings, Now).Job!;
            _clock.Advance(TimeSpan.FromSeconds(7)); // the run takes 7 s of fake time
            var final = Transitions.Finished(claimed.Job, new AttemptResult(1, "exit code 1", claimed.Job.StartedAt!.Value, Now), "w1", settings);
            Assert.That(claimed.Finish(final, Now), Is.EqualTo(FinishOutcome.Finished));

            var backoff = TimeSpan.FromSeconds(Math.Pow(3, attempts)); // 3, 9, 27 s
            var expectedRunAt = Now + backoff;
            var written = ReadJob(JobState.Failed, id);
            Assert.That(written.Attempts, Is.EqualTo(attempts));
            Assert.That(written.NotBefore, Is.EqualTo(expectedRunAt), "run_at = finish time + base^attempts");

            _clock.Advance(backoff - OneMs);
            Assert.That(NextCandidate(index), Is.Null, $"taken {OneMs.TotalMilliseconds} ms before its run_at after attempt {attempts}");
            Assert.That(index.NextDue(), Is.EqualTo(expectedRunAt), "the worker sleeps until run_at, not longer");
            _clock.Advance(OneMs);
        }
    }

    [Test]
    public void ScheduledJob_IsNotTakenUntilTheClockPassesItsRunAt()
    {
        // Enqueued through Program.Run in this process, with the command's clock faked too.
        var enqueue = RunCli("enqueue", "--delay", "10m", "--json", "--", "true");
        Assert.That(enqueue.ExitCode, Is.EqualTo(0), enqueue.Stderr);
        var id = JsonDocument.Parse(enqueue.Stdout).RootElement.GetProperty("id").GetString()!;
        Assert.That(ReadJob(JobState.Pending, id).NotBefore, Is.EqualTo(Now + TimeSpan.FromMinutes(10)));

        var later = Enqueue("""{"command":"true"}""", notBefore: Now + TimeSpan.FromMinutes(20));
        using var index = new JobIndex(_home, _clock);
        Assert.That(NextCandidate(index), Is.Null, "nothing is due at enqueue time");
        Assert.That(index.NextDue(), Is.EqualTo(Now + TimeSpan.FromMinutes(10)));

        _clock.Advance(TimeSpan.FromMinutes(10) - OneMs);
        Assert.That(Claim(index), Is.Null, "1 ms early");
        _clock.Advance(OneMs);
        Assert.That(Claim(index), Is.EqualTo(id), "due at its run_at");
        Assert.That(Claim(index), Is.Null, "the second one is still 10 minutes away");

        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.That(Claim(index), Is.EqualTo(later));
    }

    [Test]
    public void WorkerRecord_OlderThanTheLease_IsJudgedDead_YoungerAlive()
    {
        var settings = new Settings { WorkerLeaseSeconds = 30 };
        var registry = new WorkerRegistry(_home);
        // A live process of this host (this test run), so only the heartbeat's age decides.
        var record = new WorkerRecord { Id = "w-lease", Pid = Environment.ProcessId, Host = WorkerId.Host, State = "idle", HeartbeatAt = Now };
        registry.Write(record);
        File.SetLastWriteTimeUtc(registry.PathOf(record.Id), Now);

        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.That(new Liveness(registry, settings, Now).DeathReason(record), Is.Null, "exactly one lease old: alive");
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(new Liveness(registry, settings, Now).DeathReason(record), Does.Contain("no heartbeat for 31 s"));
    }

    [Test]
    public void Registration_IsFencedOnlyAfterHalfALeaseWithoutRenewal()
    {
        File.WriteAllText(_home.ConfigFile, """{"worker_lease": 8}""");
        var registration = new Registration(_home, "w-fence", new SettingsWatcher(_home), _clock);
        registration.Write();
        Assert.That(new WorkerRegistry(_home).Read("w-fence")?.HeartbeatAt, Is.EqualTo(Now), "the record carries the fake now");

        _clock.Advance(TimeSpan.FromSeconds(4));
        Assert.That(registration.Fenced(out _), Is.False, "exactly half the 8 s lease");
        _clock.Advance(OneMs);
        Assert.That(registration.Fenced(out var since), Is.True);
        Assert.That(since, Is.EqualTo(TimeSpan.FromSeconds(4) + OneMs));

        registration.Write(); // a renewal lifts the fence
        Assert.That(registration.Fenced(out _), Is.False);
    }

    [Test]
    public void Rejection_NamesATakenNameWithTheCallersClock()
    {
        var first = Path.Combine(_root, "pending", "dropped.json");
        File.WriteAllText(first, "not a job");
        Assert.That(Rejection.Reject(_home, first, "first", Now), Is.EqualTo(Path.Combine(_home.Rejected, "dropped.json")));
        File.WriteAllText(first, "not a job either");
        Assert.That(Rejection.Reject(_home, first, "second", Now),
            Is.EqualTo(Path.Combine(_home.Rejected, "dropped.json.20300101120000000-1")), "the fake clock's time, not the machine's");
    }

    [Test]
    public void StaleTmpEntries_AreRemovedOnlyOnceOlderThanTheirAge()
    {
        var staged = Path.Combine(_home.Tmp, ".staged-file");
        File.WriteAllText(staged, "{}");
        File.SetLastWriteTimeUtc(staged, Now);
        var orphan = Directory.CreateDirectory(Path.Combine(_home.Tmp, "w-died-at-start")).FullName;
        Directory.SetLastWriteTimeUtc(orphan, Now);

        _clock.Advance(Timing.StaleTmpFolderAge);
        Assert.That(StaleFiles.Clean(_home, Now), Is.EqualTo(0), "both exactly at or under their age");
        _clock.Advance(OneMs);
        Assert.That(StaleFiles.Clean(_home, Now), Is.EqualTo(1));
        Assert.That(Directory.Exists(orphan), Is.False, "an unregistered worker's staging folder goes after 1 h");
        Assert.That(File.Exists(staged), Is.True, "a staged file stays for 36 h");

        _clock.Advance(Timing.StaleTmpFileAge - Timing.StaleTmpFolderAge - OneMs);
        Assert.That(StaleFiles.Clean(_home, Now), Is.EqualTo(0));
        _clock.Advance(OneMs);
        Assert.That(StaleFiles.Clean(_home, Now), Is.EqualTo(1));
        Assert.That(File.Exists(staged), Is.False);
    }

    [Test]
    public void Purge_OlderThan_KeepsJobsUntilTheyAreThatOld()
    {
        var id = Enqueue("""{"command":"true"}""");
        using (var index = new JobIndex(_home, _clock))
        {
            var candidate = NextCandidate(index)!;
            var claimed = new Claimer(_home.ForWorker("w1"), "w1").TryClaim(candidate.Path, candidate.State, new Settings(), Now).Job!;
            var final = Transitions.Finished(claimed.Job, new AttemptResult(0, null, Now, Now), "w1", new Settings());
            Assert.That(claimed.Finish(final, Now), Is.EqualTo(FinishOutcome.Finished));
        }

        _clock.Advance(TimeSpan.FromDays(7) - OneMs);
        var early = RunCli("purge", "--state", "completed", "--older-than", "7d");
        Assert.That(early.ExitCode, Is.EqualTo(0), early.Stderr);
        Assert.That(File.Exists(_home.JobPath(JobState.Completed, id)), Is.True, "1 ms younger than 7 days: kept");

        _clock.Advance(OneMs);
        var due = RunCli("purge", "--state", "completed", "--older-than", "7d");
        Assert.That(due.ExitCode, Is.EqualTo(0), due.Stderr);
        Assert.That(File.Exists(_home.JobPath(JobState.Completed, id)), Is.False, "7 days old: purged");
    }

    private Candidate? NextCandidate(JobIndex index)
    {
        index.RequestRescan();
        index.Refresh();
        return index.TakeNext(Now);
    }

    /// <summary>What a worker's loop does: take the best due candidate and claim it; the claimed job's id, or null.</summary>
    private string? Claim(JobIndex index)
    {
        var candidate = NextCandidate(index);
        return candidate is null ? null : new Claimer(_home.ForWorker("w1"), "w1").TryClaim(candidate.Path, candidate.State, new Settings(), Now).Job?.Job.Id;
    }

    private string Enqueue(string json, DateTime? notBefore = null)
    {
        var job = JobParser.Parse(json, new JobDefaults(3, _root, Now));
        job = notBefore is { } at ? job with { NotBefore = at } : job;
        new JobStore(_home).Enqueue(job, Now);
        return job.Id;
    }

    private Job ReadJob(string state, string id) => JobJson.Deserialize(File.ReadAllBytes(_home.JobPath(state, id)));

    private (int ExitCode, string Stdout, string Stderr) RunCli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var console = new CliConsole(stdout, stderr, TextReader.Null) { Clock = _clock };
        var code = Program.Run([.. args.TakeWhile(a => a != "--"), "--home", _root, .. args.SkipWhile(a => a != "--")], console);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public void Retention_DeletesACompletedJobOnlyOnceTheFakeClockPassesItsRetention()
    {
        var worker = _home.ForWorker("w1");
        var old = WriteCompleted("old", Now - TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1));
        var young = WriteCompleted("young", Now - TimeSpan.FromDays(7) + TimeSpan.FromMinutes(30));
        using var stop = new CancellationTokenSource();
        var run = new Retention(worker, new SettingsWatcher(worker), _ => { }, _clock).RunAsync(stop.Token);
        try
        {
            _clock.Advance(TimeSpan.FromSeconds(1)); // the first pass, with the default completed-retention (7 d)
            Eventually.True(() => !File.Exists(old), TimeSpan.FromSeconds(10), "the job finished 7 d 1 min ago deleted");
            Assert.That(File.Exists(young), Is.True, "the job finished 6 d 23 h 30 min ago kept: it was not a candidate of that pass");

            _clock.Advance(Timing.RetentionEvery + TimeSpan.FromMinutes(30)); // the next pass, 10 min later; now 7 d have passed
            Eventually.True(() => !File.Exists(young), TimeSpan.FromSeconds(10), "deleted once the clock passed its retention");
        }
        finally
        {
            stop.Cancel();
            Assert.That(run.Wait(TimeSpan.FromSeconds(10)), Is.True, "the retention loop ends when stopped");
        }
    }

    private string WriteCompleted(string id, DateTime finished)
    {
        var path = Path.Combine(_home.StateFolder(JobState.Completed), id + ".json");
        var t = UtcTimestamp.ToText(finished);
        File.WriteAllText(path,
            $$"""{"id":"{{id}}","command":"true","state":"completed","attempts":1,"max_retries":0,"created_at":"{{t}}","updated_at":"{{t}}","finished_at":"{{t}}"}""");
        File.SetLastWriteTimeUtc(path, finished);
        return path;
    }
}
