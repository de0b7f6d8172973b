using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>A home on a small tmpfs that the test fills up: workers say what happened and lose no result.</summary>
[Category("EndToEnd")]
[NonParallelizable] // mounts a tmpfs
public class DiskFullTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Test]
    public void ForegroundWorker_OnAFullDisk_SaysSoInOneSentence_AndLeavesNothingBehind()
    {
        using var home = new TempHome(create: false, inProcess: false);
        using var disk = new SmallDisk(home.Root);
        home.Ok("init");
        disk.Fill();

        var result = QueueCtlProcess.Run(["worker", "start", "--foreground", "--home", home.Root], timeout: Deadline);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Match(@"^queuectl: Worker w-\S+ could not start: No space left on device.*\n$"));
        Assert.That(result.Stdout + result.Stderr, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(Directory.EnumerateFileSystemEntries(home.PathOf("tmp")), Is.Empty);
        Assert.That(Directory.EnumerateFileSystemEntries(home.PathOf("workers")), Is.Empty);
    }

    [Test]
    public void DetachedWorkerStart_OnAFullDisk_IsRefusedAtOnce_InsteadOfAnEmptyLog()
    {
        using var home = new TempHome(create: false, inProcess: false);
        using var disk = new SmallDisk(home.Root);
        home.Ok("init");
        disk.Fill();

        var result = home.Run("worker", "start");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Match(@"^queuectl: Cannot start workers: the queue home cannot be written \(No space left on device.*\)\.\n$"));
        Assert.That(Directory.EnumerateFileSystemEntries(home.PathOf("workers")), Is.Empty, "no worker was started");
        Assert.That(Directory.EnumerateFileSystemEntries(home.PathOf("tmp")), Is.Empty);
    }

    [Test]
    public void JobThatPrintsWhileTheDiskIsFull_IsFinishedOnceThereIsRoom_AndItsLostOutputIsRecorded()
    {
        using var home = new TempHome(create: false, inProcess: false);
        using var disk = new SmallDisk(home.Root);
        home.Ok("init");
        var go = Path.Combine(home.Parent, "go");
        var printed = Path.Combine(home.Parent, "printed");
        home.Ok("enqueue", "--id", "talk", "--command", $"while [ ! -e {go} ]; do sleep 0.05; done; echo hello from a full disk; touch {printed}");
        // A second link to the job file: the file the claim replaces cannot be reused as a spare
        // for the finish (AtomicFile), which must then create one on the full disk and wait.
        Assert.That(Processes.ExitCodeOf("ln", home.PathOf("pending/talk.json"), Path.Combine(home.Root, "talk.link")), Is.EqualTo(0));
        using var worker = new ForegroundWorker(home);
        Eventually.True(() => worker.Output.Contains("running talk", StringComparison.Ordinal), Deadline, "the job to run");

        disk.Fill();
        File.WriteAllText(go, "");
        Eventually.True(() => File.Exists(printed), Deadline, "the job to print");
        Eventually.True(() => worker.Output.Contains("could not record the result yet", StringComparison.Ordinal), Deadline, "the finish to wait for room");
        disk.Free();
        home.WaitForState("talk", "completed", Deadline);

        var attempt = home.ReadJob("completed", "talk").GetProperty("history")[0];
        Assert.That(attempt.GetProperty("attempt").GetInt32(), Is.EqualTo(1), "run once: the result was kept, not thrown away");
        Assert.That(attempt.GetProperty("output_lost").GetString(), Does.Contain("No space left on device"));
        var logs = home.Run("logs", "talk");
        Assert.That(logs.ExitCode, Is.EqualTo(1));
        Assert.That(logs.Stderr, Does.Contain("lost").And.Contain("23 bytes of output could not be written").And.Contain("No space left on device"));
        Assert.That(worker.Process.HasExited, Is.False, "the worker goes on");
    }

    [Test]
    public void JobThatPrintsWhileTheDiskIsFull_IsFinishedAtOnce_IntoTheFileItsClaimReplaced()
    {
        using var home = new TempHome(create: false, inProcess: false);
        using var disk = new SmallDisk(home.Root);
        home.Ok("init");
        var go = Path.Combine(home.Parent, "go");
        home.Ok("enqueue", "--id", "talk", "--command", $"while [ ! -e {go} ]; do sleep 0.05; done; echo hello from a full disk");
        using var worker = new ForegroundWorker(home);
        Eventually.True(() => worker.Output.Contains("running talk", StringComparison.Ordinal), Deadline, "the job to run");

        disk.Fill();
        File.WriteAllText(go, "");
        home.WaitForState("talk", "completed", Deadline); // the disk is still full

        Assert.That(worker.Output, Does.Not.Contain("could not record the result yet"));
        var attempt = home.ReadJob("completed", "talk").GetProperty("history")[0];
        Assert.That(attempt.GetProperty("output_lost").GetString(), Does.Contain("No space left on device"));
        Assert.That(worker.Process.HasExited, Is.False, "the worker goes on");
    }

    /// <summary>A 1 MiB tmpfs mounted on the home (root only, as CI is); Fill writes a file until it is full.</summary>
    private sealed class SmallDisk : IDisposable
    {
        private readonly string _path;
        private readonly string _filler;

        public SmallDisk(string path)
        {
            _path = path;
            _filler = Path.Combine(path, "filler");
            Directory.CreateDirectory(path);
            if (Processes.ExitCodeOf("mount", "-t", "tmpfs", "-o", "size=1m,mode=700", "tmpfs", path) != 0)
            {
                Assert.Ignore("This test needs root to mount a small tmpfs.");
            }
        }

        public void Fill()
        {
            using var file = new FileStream(_filler, FileMode.Create);
            var block = new byte[4096];
            try
            {
                while (true)
                {
                    file.Write(block);
                    file.Flush();
                }
            }
            catch (IOException)
            {
                // Full.
            }
        }

        public void Free() => File.Delete(_filler);

        public void Dispose()
        {
            foreach (var pid in Processes.WithCommandLineContaining(_path))
            {
                Processes.Kill(pid);
            }
            Eventually.True(() => Processes.ExitCodeOf("umount", _path) == 0, TimeSpan.FromSeconds(10), "the tmpfs to unmount");
        }
    }
}
