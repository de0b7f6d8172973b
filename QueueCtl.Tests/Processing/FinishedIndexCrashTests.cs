using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>
/// The finished index under real worker processes killed with SIGKILL mid-stream: whatever a kill
/// leaves between a move and its ledger line, `status` and `list` end up saying what the folders
/// hold (recovery invalidates the index; readers and upkeep rebuild it).
/// </summary>
[Category("EndToEnd")]
public class FinishedIndexCrashTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Test]
    public void WorkersKilledWhileFinishing_StatusAndListAgreeWithTheFolders()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "worker-lease", "2s");
        var lines = string.Join('\n', Enumerable.Range(0, 400).Select(i => i % 10 == 0
            ? $$"""{"command":"sleep 0.05; exit 3","max_retries":0}"""
            : """{"command":"sleep 0.05"}"""));
        home.RunWithInput(lines, "enqueue", "-");
        home.Ok("status"); // the first reader builds the index while nothing has finished

        var readings = 0;
        using (var survivor = new ForegroundWorker(home, count: 2))
        {
            for (var round = 0; round < 3; round++)
            {
                using var victim = new ForegroundWorker(home, count: 2);
                var before = home.Ids("completed").Count + home.Ids("dead").Count;
                Eventually.True(() => home.Ids("completed").Count + home.Ids("dead").Count >= before + 40, Deadline, "jobs to finish under the victim");
                Processes.Signal(victim.Process.Id, 9); // mid-stream: between some move and its ledger line, maybe
                victim.WaitForExit(TimeSpan.FromSeconds(10));
                var status = Status(home);
                Assert.That(status.Completed + status.Dead, Is.LessThanOrEqualTo(400), "never more finished than enqueued");
                readings++;
            }
            Eventually.True(() => home.Ids("completed").Count + home.Ids("dead").Count == 400, Deadline,
                "every job finished, the killed workers' jobs through recovery");
        }

        // Recovery ran (the victims were judged dead) and the readers rebuilt or added the ledgers up.
        var counts = Status(home);
        Assert.Multiple(() =>
        {
            Assert.That(readings, Is.EqualTo(3));
            Assert.That(counts.Completed, Is.EqualTo(home.Ids("completed").Count), "status: completed/");
            Assert.That(counts.Dead, Is.EqualTo(home.Ids("dead").Count), "status: dead/");
            var listed = JsonDocument.Parse(home.Ok("list", "--state", "completed", "--limit", "0", "--json")).RootElement
                .EnumerateArray().Select(j => j.GetProperty("id").GetString()!).ToList();
            Assert.That(listed, Is.EquivalentTo(home.Ids("completed")), "list: every file of completed/, once");
            var newest = JsonDocument.Parse(home.Ok("list", "--state", "dead", "--newest", "--limit", "5", "--json")).RootElement
                .EnumerateArray().Select(j => j.GetProperty("id").GetString()!).ToList();
            Assert.That(newest, Is.EqualTo(home.Ids("dead").Order(StringComparer.Ordinal).Reverse().Take(5)), "list --newest: the last five of dead/");
        });
    }

    private static (int Completed, int Dead) Status(TempHome home)
    {
        var json = JsonDocument.Parse(home.Ok("status", "--json")).RootElement;
        return (json.GetProperty("completed").GetInt32(), json.GetProperty("dead").GetInt32());
    }
}
