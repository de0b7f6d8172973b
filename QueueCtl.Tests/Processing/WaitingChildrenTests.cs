using Microsoft.Extensions.Time.Testing;
using QueueCtl.Jobs;
using QueueCtl.Processing;
using QueueCtl.Storage;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>
/// `enqueue --after`: waiting children cost nothing per claim. The worker's index holds them aside
/// by parent and looks at them again only when that parent lands in completed/ or dead/ (or at the
/// slow rescan), in this process, on the real inotify events.
/// </summary>
public class WaitingChildrenTests
{
    private const int Children = 2_000;
    private const int Ready = 20;

    [Test]
    public void WaitingChildren_AreNotLookedAtPerClaim_OnlyWhenTheirParentLands()
    {
        var root = Path.Combine(Directory.CreateTempSubdirectory("queuectl-waiting-").FullName, "home");
        try
        {
            var home = new QueueHome(root);
            home.EnsureCreated();
            var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
            Drop(home, "parent", """ "not_before":"2099-01-01T00:00:00Z" """);
            for (var i = 0; i < Children; i++)
            {
                Drop(home, $"child{i:D4}", """ "after":["parent"] """);
            }
            for (var i = 0; i < Ready; i++)
            {
                Drop(home, $"ready{i:D2}", "");
            }

            using var index = new JobIndex(home, clock);
            index.Refresh();
            Assert.That(index.Waiting, Is.EqualTo(Children));

            // The parent is taken away behind the children's back (no event they listen for). A
            // look at the children per claim would find it gone and send them dead at once; the
            // index instead hands out the ready jobs and leaves the children as they were.
            File.Delete(home.JobPath(JobState.Pending, "parent"));
            var taken = new List<string>();
            for (var i = 0; i < Ready; i++)
            {
                index.Refresh();
                taken.Add(Path.GetFileNameWithoutExtension(index.TakeNext(clock.GetUtcNow().UtcDateTime)!.Path));
                Assert.That(index.Waiting, Is.EqualTo(Children), "a claim re-placed the waiting children");
            }
            Assert.That(taken, Is.EqualTo(Enumerable.Range(0, Ready).Select(i => $"ready{i:D2}")));
            index.Refresh();
            Assert.That(index.TakeNext(clock.GetUtcNow().UtcDateTime), Is.Null, "nothing else is ready: the children still wait");

            // The parent lands in dead/: that one event places every child again, and each is doomed.
            File.WriteAllText(home.JobPath(JobState.Dead, "parent"), """{"id":"parent","command":"true","state":"dead","last_error":"exit code 1"}""");
            Eventually.True(() =>
            {
                index.Refresh();
                return index.Waiting == 0;
            }, TimeSpan.FromSeconds(10), "the children placed again when their parent landed");
            var doomed = index.TakeNext(clock.GetUtcNow().UtcDateTime);
            Assert.That(doomed?.Doomed, Does.Contain("parent job parent ended dead"));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(root)!, recursive: true);
        }
    }

    private static void Drop(QueueHome home, string id, string fields)
    {
        var staged = home.JobPath(JobState.Pending, id).Replace("/pending/", "/tmp/", StringComparison.Ordinal);
        File.WriteAllText(staged, $$"""{"id":"{{id}}","command":"true"{{(fields.Length > 0 ? "," + fields : "")}}}""");
        File.Move(staged, home.JobPath(JobState.Pending, id));
    }
}
