using System.Globalization;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>`queue.Q.concurrency N` against real worker processes: slots are files, limits hold across processes.</summary>
[Category("EndToEnd")]
public class ConcurrencyLimitTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>A command that appends "start NS" and "end NS" (nanoseconds) around a sleep.</summary>
    private static string Timed(string file, string sleep) =>
        $"echo \"start $(date +%s%N)\" >> {file}; {sleep}; echo \"end $(date +%s%N)\" >> {file}";

    /// <summary>The runs recorded by <see cref="Timed"/>, in order of start (a file of one queue: lines may interleave).</summary>
    private static List<(long Start, long End)> Runs(string path)
    {
        var starts = new List<long>();
        var ends = new List<long>();
        foreach (var line in File.ReadAllLines(path))
        {
            var parts = line.Split(' ');
            (parts[0] == "start" ? starts : ends).Add(long.Parse(parts[1], CultureInfo.InvariantCulture));
        }
        starts.Sort();
        ends.Sort();
        Assert.That(starts, Has.Count.EqualTo(ends.Count), "every run ended");
        return starts.Zip(ends).ToList();
    }

    /// <summary>Two runs overlapped: a start before the previous end (sorted starts and ends pair off when none overlap).</summary>
    private static bool AnyOverlap(string path)
    {
        var events = File.ReadAllLines(path).Select(l => l.Split(' ')).Select(p => (At: long.Parse(p[1], CultureInfo.InvariantCulture), Delta: p[0] == "start" ? 1 : -1))
            .OrderBy(e => e.At).ThenBy(e => e.Delta);
        var running = 0;
        foreach (var (_, delta) in events)
        {
            running += delta;
            if (running > 1)
            {
                return true;
            }
        }
        return false;
    }

    private static int HoldersOf(TempHome home, string queue) =>
        Directory.Exists(home.PathOf("slots", queue))
            ? Directory.GetDirectories(home.PathOf("slots", queue)).Sum(FilesIn)
            : 0;

    /// <summary>RACE: a released slot's folder is removed between the two listings: it holds nobody.</summary>
    private static int FilesIn(string folder)
    {
        try
        {
            return Directory.GetFiles(folder).Length;
        }
        catch (DirectoryNotFoundException)
        {
            return 0;
        }
    }

    [Test]
    public void LimitOne_SixJobsOnFourWorkersInTwoProcesses_NeverOverlap_WhileTheDefaultQueueRunsInParallel()
    {
        using var home = new TempHome();
        Assert.That(home.Ok("config", "set", "queue.lim.concurrency", "1"), Is.EqualTo("queue.lim.concurrency = 1\n"));
        var limited = Path.Combine(home.Parent, "lim.txt");
        var parallel = Path.Combine(home.Parent, "default.txt");
        for (var i = 0; i < 6; i++)
        {
            home.Ok("enqueue", "--queue", "lim", "--id", $"lim{i}", "--command", Timed(limited, "sleep 0.437"));
        }
        for (var i = 0; i < 4; i++)
        {
            home.Ok("enqueue", "--id", $"par{i}", "--command", Timed(parallel, "sleep 1.5"));
        }

        using var first = new ForegroundWorker(home, count: 2);
        using var second = new ForegroundWorker(home, count: 2);
        // The limit as the kernel sees it: never two `sleep 0.437` processes alive at once.
        var maxSeen = 0;
        var maxHolders = 0;
        Eventually.True(() =>
        {
            maxSeen = Math.Max(maxSeen, Processes.WithCommandLine("sleep 0.437").Count);
            maxHolders = Math.Max(maxHolders, HoldersOf(home, "lim"));
            return home.Ids("completed").Count == 10;
        }, Deadline, "all ten jobs completed");

        Assert.Multiple(() =>
        {
            Assert.That(Runs(limited), Has.Count.EqualTo(6));
            Assert.That(AnyOverlap(limited), Is.False, "two jobs of queue lim ran at once:\n" + File.ReadAllText(limited));
            Assert.That(AnyOverlap(parallel), Is.True, "the default queue has no limit: its jobs ran side by side");
            Assert.That(maxSeen, Is.EqualTo(1), "at most one live `sleep 0.437` process");
            Assert.That(maxHolders, Is.LessThanOrEqualTo(1), "at most one slot holder in slots/lim/");
        });
        // The slot is given back just after the finish commits: the last job can be in completed/ a moment before.
        Eventually.True(() => HoldersOf(home, "lim") == 0, Deadline, "every slot freed after the finish");
    }

    [Test]
    public void HolderKilledWithSigkill_SlotComesBackThroughRecovery_TheRemainingJobsFinish()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "worker-lease", "3s");
        home.Ok("config", "set", "queue.lim.concurrency", "1");
        home.Ok("enqueue", "--queue", "lim", "--id", "holder", "--max-retries", "0", "--", "sleep", "30.25");

        using var victim = new ForegroundWorker(home);
        Eventually.True(() => Processes.WithCommandLine("sleep 30.25").Count == 1, Deadline, "the holder's job to run");
        var slot = Directory.GetFiles(home.PathOf("slots", "lim", "0")).Select(Path.GetFileName).Single();
        Assert.That(slot, Does.StartWith("w-").And.EndWith("@holder"), "the slot names its worker and job");

        // Each later job looks, as it starts, for a live process of the holder's run (the guard
        // must have killed it before recovery gave the slot back).
        var seen = Path.Combine(home.Parent, "seen.txt");
        for (var i = 0; i < 3; i++)
        {
            home.Ok("enqueue", "--queue", "lim", "--id", $"next{i}", "--command",
                $"for f in /proc/[0-9]*/cmdline; do [ \"$(tr '\\0' ' ' < $f 2>/dev/null)\" = 'sleep 30.25 ' ] && echo overlap >> {seen}; done; echo ran >> {seen}");
        }
        using var survivor = new ForegroundWorker(home);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(1.5);
        while (DateTime.UtcNow < until)
        {
            Assert.That(home.Ids("pending"), Has.Count.EqualTo(3), "the full queue is passed over while its slot is held");
            Thread.Sleep(20);
        }

        Processes.Signal(victim.Process.Id, 9);
        home.WaitForState("holder", "dead", Deadline);
        Eventually.True(() => home.Ids("completed").Count == 3, Deadline, "the remaining jobs of queue lim to finish");
        Assert.Multiple(() =>
        {
            Assert.That(home.ReadJob("dead", "holder").GetProperty("last_error").GetString(), Does.Contain("died"));
            Assert.That(Processes.WithCommandLine("sleep 30.25"), Is.Empty, "the holder's run is gone");
            Assert.That(File.ReadAllLines(seen), Is.EqualTo(new[] { "ran", "ran", "ran" }), "no later job of the queue started beside the holder's run");
        });
        Eventually.True(() => HoldersOf(home, "lim") == 0, Deadline, "every slot freed after the last finish");
    }

    [Test]
    public void RaisingTheLimit_AdmitsMoreAtOnce_LoweringItHoldsBackNewClaims()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "queue.lim.concurrency", "1");
        home.Ok("enqueue", "--queue", "lim", "--id", "a", "--", "sleep", "20.5");
        home.Ok("enqueue", "--queue", "lim", "--id", "b", "--", "sleep", "20.5");
        home.Ok("enqueue", "--queue", "lim", "--id", "c", "--", "true");
        using var workers = new ForegroundWorker(home, count: 3);
        Eventually.True(() => Processes.WithCommandLine("sleep 20.5").Count == 1, Deadline, "one job of queue lim running");
        Assert.That(home.Ids("pending"), Has.Count.EqualTo(2));

        home.Ok("config", "set", "queue.lim.concurrency", "2");
        Eventually.True(() => Processes.WithCommandLine("sleep 20.5").Count == 2, Deadline, "a second job admitted at once");
        Assert.That(home.Ids("pending"), Is.EqualTo(new[] { "c" }));

        home.Ok("config", "set", "queue.lim.concurrency", "1");
        home.Ok("cancel", "a");
        home.WaitForState("a", "dead", Deadline);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(1.5);
        while (DateTime.UtcNow < until)
        {
            Assert.That(home.Ids("pending"), Is.EqualTo(new[] { "c" }), "b still holds the one slot of the lowered limit");
            Thread.Sleep(20);
        }
        home.Ok("config", "set", "queue.lim.concurrency", "unlimited");
        home.WaitForState("c", "completed", Deadline);
        home.Ok("cancel", "b");
        home.WaitForState("b", "dead", Deadline);
    }
}
