using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>
/// No job runs beside its own re-run, also when its worker is killed, frozen, hung up on or cut
/// off. Each job here is <see cref="RunScript"/>: at its start it looks through /proc for any
/// process of the same job outside its own process group (a survivor of an earlier run) and
/// writes `overlap` if it finds one, then `start PID`, sleeps, and writes `end PID`.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable] // short leases and fences: a loaded machine would judge live workers dead
public class NeverTwiceTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);

    private const string RunScript = """
        #!/bin/bash
        out=$1; first=$2
        dur=$first; [ "$QUEUECTL_ATTEMPT" -gt 1 ] && dur=0.2
        read -r st < /proc/$$/stat; st=${st##*) }; set -- $st; mine=$3
        for e in /proc/[0-9]*/environ; do
          mapfile -d '' -t env 2>/dev/null < "$e" || continue
          for v in "${env[@]}"; do
            if [[ $v == "QUEUECTL_JOB_ID=$QUEUECTL_JOB_ID" ]]; then
              p=${e#/proc/}; p=${p%/environ}
              read -r st 2>/dev/null < /proc/$p/stat || break
              st=${st##*) }; set -- $st
              [[ $3 != "$mine" ]] && echo "overlap: $$ sees $p of an earlier run" >> "$out"
              break
            fi
          done
        done
        echo "start $$" >> "$out"
        sleep "$dur"
        echo "end $$" >> "$out"
        """;

    [Test]
    public void KilledWorker_ItsRunIsGoneBeforeTheReRunStarts()
    {
        using var home = new TempHome(inProcess: false);
        var runs = Prepare(home, firstRunSeconds: 4);
        var first = home.StartWorkers(1)[0];
        Eventually.True(() => Lines(runs).Any(l => l.StartsWith("start", StringComparison.Ordinal)), Deadline, "the first run to start");

        Processes.Signal(WorkerFiles.Pid(home, first), 9);
        home.StartWorkers(1);
        home.WaitForState("once", "completed", Deadline);

        AssertRanOnceAtATime(home, runs, expectedStarts: 2);
        Assert.That(home.ReadJob("completed", "once").GetProperty("history")[0].GetProperty("error").GetString(), Does.Contain($"worker {first} died"));
        home.Ok("worker", "stop");
    }

    [Test]
    public void FrozenWorker_PastItsLease_ItsRunIsKilledBeforeTheReRun_AndItsLateFinishChangesNothing()
    {
        using var home = new TempHome(inProcess: false);
        var runs = Prepare(home, firstRunSeconds: 6);
        var frozen = home.StartWorkers(1)[0];
        Eventually.True(() => Lines(runs).Any(l => l.StartsWith("start", StringComparison.Ordinal)), Deadline, "the first run to start");
        var pid = WorkerFiles.Pid(home, frozen);
        home.StartWorkers(1);

        Processes.Signal(pid, 19); // SIGSTOP: Ctrl-Z, a debugger, a paused VM
        try
        {
            home.WaitForState("once", "completed", Deadline);
        }
        finally
        {
            Processes.Signal(pid, 18); // SIGCONT
        }
        Eventually.True(() => File.ReadAllText(home.PathOf("workers", frozen + ".log")).Contains("noted this worker's late finish", StringComparison.Ordinal),
            Deadline, "the thawed worker to find its job taken back and note its late finish");

        AssertRanOnceAtATime(home, runs, expectedStarts: 2);
        Assert.That(File.ReadAllText(home.PathOf("workers", frozen + ".log")), Does.Contain("guard: no lease renewal within the fence"));
        Assert.That(Processes.IsAlive(pid), Is.True, "the thawed worker goes on");
        home.Ok("worker", "stop");
    }

    [Test]
    public void ForegroundWorker_OnSighup_FinishesItsJobAndStops()
    {
        using var home = new TempHome(inProcess: false);
        var runs = Prepare(home, firstRunSeconds: 1.5);
        using var worker = new ForegroundWorker(home);
        Eventually.True(() => Lines(runs).Any(l => l.StartsWith("start", StringComparison.Ordinal)), Deadline, "the run to start");

        Processes.Signal(worker.Process.Id, 1); // SIGHUP: the terminal or ssh session closed

        Assert.That(worker.WaitForExit(Deadline), Is.True, "the worker stops");
        Assert.That(worker.Process.ExitCode, Is.EqualTo(0), worker.Output);
        Assert.That(worker.Output, Does.Contain("SIGHUP: stopping after the current jobs"));
        home.WaitForState("once", "completed", TimeSpan.FromSeconds(1));
        AssertRanOnceAtATime(home, runs, expectedStarts: 1);
    }

    [Test]
    public void WorkerCutOffFromTheHome_KillsItsRunWithinHalfTheLease()
    {
        // A read-only home stands in for a lost network file system: renewals fail, and the
        // worker (and its guard) must kill the run before other workers could judge it dead.
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "worker-lease", "4s");
        var runs = Prepare(home, firstRunSeconds: 30);
        using var worker = new ForegroundWorker(home);
        Eventually.True(() => Lines(runs).Any(l => l.StartsWith("start", StringComparison.Ordinal)), Deadline, "the run to start");
        var run = int.Parse(Lines(runs).First().Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

        TimeSpan killedAfter;
        using (new ReadOnlyMount(home.Root))
        {
            var cut = DateTime.UtcNow;
            Eventually.True(() => !Processes.IsAlive(run), TimeSpan.FromSeconds(10), "the run to be killed");
            killedAfter = DateTime.UtcNow - cut;
        }
        home.WaitForState("once", "completed", Deadline);

        TestContext.Out.WriteLine($"run killed {killedAfter.TotalSeconds:0.00} s after the cut");
        Assert.That(killedAfter, Is.LessThan(TimeSpan.FromSeconds(4)), "before a lease has passed");
        var history = home.ReadJob("completed", "once").GetProperty("history");
        Assert.That(history[0].GetProperty("error").GetString(), Does.Contain("could not renew its registration"));
        AssertRanOnceAtATime(home, runs, expectedStarts: 2);
    }

    [Test]
    public void Timeout_KillsWhatTheJobStartedInANewSession()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "setsid sleep 30.41 & sleep 30.42", "--id", "escaper", "--timeout", "1s", "--max-retries", "0");
        using var worker = new ForegroundWorker(home);

        home.WaitForState("escaper", "dead", Deadline);

        Assert.That(Processes.WithCommandLineContaining("sleep 30.41"), Is.Empty, "the setsid child died with the run");
        Assert.That(home.ReadJob("dead", "escaper").GetProperty("last_error").GetString(), Is.EqualTo("timed out after 1 s"));
    }

    private static string Prepare(TempHome home, double firstRunSeconds)
    {
        if (!home.Run("config", "get", "worker-lease").Stdout.StartsWith("4", StringComparison.Ordinal))
        {
            home.Ok("config", "set", "worker-lease", "3s");
        }
        home.Ok("config", "set", "backoff-base", "1");
        var script = Path.Combine(home.Parent, "run.sh");
        File.WriteAllText(script, RunScript.Replace("\r", "", StringComparison.Ordinal) + "\n");
        var runs = Path.Combine(home.Parent, "runs.txt");
        home.Ok("enqueue", "--command", $"bash {script} {runs} {firstRunSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}", "--id", "once", "--max-retries", "2");
        return runs;
    }

    private static string[] Lines(string path) => File.Exists(path) ? File.ReadAllLines(path) : [];

    private static void AssertRanOnceAtATime(TempHome home, string runs, int expectedStarts)
    {
        var lines = Lines(runs);
        TestContext.Out.WriteLine(string.Join('\n', lines));
        Assert.Multiple(() =>
        {
            Assert.That(lines.Where(l => l.StartsWith("overlap", StringComparison.Ordinal)), Is.Empty, "no run started beside a live earlier one");
            Assert.That(lines.Count(l => l.StartsWith("start", StringComparison.Ordinal)), Is.EqualTo(expectedStarts));
            Assert.That(lines.Count(l => l.StartsWith("end", StringComparison.Ordinal)), Is.EqualTo(1), "only one run lived to its end");
            Assert.That(WorkerFiles.AllJobs(home), Is.EqualTo(new[] { ("completed", "once") }), "one file, in completed/");
        });
    }
}
