using Microsoft.Extensions.Time.Testing;
using QueueCtl.Config;
using QueueCtl.Processing;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Tests.Processing;

/// <summary>
/// A dead worker's job that never started goes back to pending/ under its name. When the name is
/// taken there, recovery waits for it (round after round) before it rejects the job: on GlusterFS
/// a client's cached entry of the very file the dead worker claimed made the name look taken for a
/// moment after a link cut, and rejecting at once lost that job from the queue (the multi-host
/// stage then waited for it in vain). In process, on a fake clock; the dead worker is a processing
/// folder with no registration.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class RecoveryNameTakenTests
{
    private const string Claimed = """{"id":"j1","command":"echo claimed"}""";
    private const string Other = """{"id":"j1","command":"echo another file of that name"}""";

    [Test]
    public void NameTakenForAMoment_TheJobWaitsForIt_ThenGoesBackToPending()
    {
        using var home = new Home();
        home.Write("processing/w-gone-1/j1.json", Claimed);
        home.Write("pending/j1.json", Other);

        home.Recover();
        Assert.That(home.Read("processing/w-gone-1/j1.json"), Is.EqualTo(Claimed), "back in the dead worker's folder for the next round");
        Assert.That(home.Read("pending/j1.json"), Is.EqualTo(Other));
        Assert.That(Directory.GetFiles(home.PathOf("rejected")), Is.Empty);

        File.Delete(home.PathOf("pending/j1.json")); // the name is free again
        home.Clock.Advance(TimeSpan.FromSeconds(2));
        home.Recover();

        Assert.That(home.Read("pending/j1.json"), Is.EqualTo(Claimed));
        Assert.That(Directory.Exists(home.PathOf("processing/w-gone-1")), Is.False);
        Assert.That(Directory.GetFiles(home.PathOf("rejected")), Is.Empty);
    }

    [Test]
    public void NameTakenForAMinute_TheJobIsRejected_NeverLost()
    {
        using var home = new Home();
        home.Write("processing/w-gone-2/j1.json", Claimed);
        home.Write("pending/j1.json", Other);

        home.Recover();
        home.Clock.Advance(Timing.NameTakenPatience - TimeSpan.FromMilliseconds(1));
        home.Recover();
        Assert.That(Directory.GetFiles(home.PathOf("rejected")), Is.Empty, "still within the patience");
        home.Clock.Advance(TimeSpan.FromMilliseconds(2));
        home.Recover();

        Assert.That(home.Read("rejected/j1.json"), Is.EqualTo(Claimed));
        Assert.That(home.Read("rejected/j1.json.reason"), Does.Contain("already there"));
        Assert.That(home.Read("pending/j1.json"), Is.EqualTo(Other));
    }

    private sealed class Home : IDisposable
    {
        private readonly string _root = Path.Combine(Directory.CreateTempSubdirectory("queuectl-nametaken-").FullName, "home");
        private readonly QueueHome _home;

        public Home()
        {
            _home = new QueueHome(_root);
            _home.EnsureCreated();
        }

        public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero));

        public string PathOf(string relative) => Path.Combine(_root, relative);

        public void Write(string relative, string text)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(PathOf(relative))!);
            File.WriteAllText(PathOf(relative), text);
        }

        public string Read(string relative) => File.ReadAllText(PathOf(relative));

        public void Recover() => WorkerRecovery.RecoverDeadWorkers(_home, new Settings(), selfId: null, Clock);

        public void Dispose() => Directory.Delete(Path.GetDirectoryName(_root)!, recursive: true);
    }
}
