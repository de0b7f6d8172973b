using System.Text;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Storage;

[Parallelizable(ParallelScope.All)]
public class AtomicFileTests
{
    [Test]
    public void Rewrites_AreNeverSeenHalfWritten_AndLeaveNothingInTmp()
    {
        var root = Directory.CreateTempSubdirectory("queuectl-atomic-").FullName;
        try
        {
            var home = new QueueHome(root);
            home.EnsureCreated();
            var path = home.JobPath(JobState.Pending, "big");
            var padding = new string('x', 256 * 1024);
            byte[] Version(int n) => Encoding.UTF8.GetBytes($"{{\"n\":{n},\"pad\":\"{padding}\"}}\n");
            AtomicFile.Write(home, path, Version(0), noReplace: false);

            using var stop = new CancellationTokenSource();
            var torn = 0;
            var reads = 0;
            var reader = Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var text = File.ReadAllText(path);
                    reads++;
                    if (!text.EndsWith("\"}\n", StringComparison.Ordinal))
                    {
                        torn++;
                    }
                    try
                    {
                        System.Text.Json.JsonDocument.Parse(text).Dispose();
                    }
                    catch (System.Text.Json.JsonException)
                    {
                        torn++;
                    }
                }
            });
            for (var n = 1; n <= 200; n++)
            {
                AtomicFile.Write(home, path, Version(n), noReplace: false);
            }
            stop.Cancel();
            reader.Wait();

            Assert.That(reads, Is.GreaterThan(0));
            Assert.That(torn, Is.EqualTo(0));
            Assert.That(Directory.EnumerateFileSystemEntries(home.Tmp), Is.Empty);
            Assert.That(File.ReadAllText(path), Does.StartWith("{\"n\":200,"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void NoReplace_KeepsTheExistingFile_AndReportsFalse()
    {
        var root = Directory.CreateTempSubdirectory("queuectl-atomic-").FullName;
        try
        {
            var home = new QueueHome(root);
            home.EnsureCreated();
            var path = home.JobPath(JobState.Pending, "a");

            var first = AtomicFile.Write(home, path, "first"u8, noReplace: true);
            var second = AtomicFile.Write(home, path, "second"u8, noReplace: true);

            Assert.That(first, Is.True);
            Assert.That(second, Is.False);
            Assert.That(File.ReadAllText(path), Is.EqualTo("first"));
            Assert.That(Directory.EnumerateFileSystemEntries(home.Tmp), Is.Empty);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void NoReplace_UnderRace_ExactlyOneWriterWins()
    {
        var root = Directory.CreateTempSubdirectory("queuectl-atomic-").FullName;
        try
        {
            var home = new QueueHome(root);
            home.EnsureCreated();
            var lost = 0;
            for (var round = 0; round < 200; round++)
            {
                var path = home.JobPath(JobState.Pending, $"r{round}");
                var winners = Enumerable.Range(0, 4)
                    .AsParallel()
                    .Select(i => AtomicFile.Write(home, path, Encoding.UTF8.GetBytes($"writer {i}"), noReplace: true))
                    .Count(won => won);
                if (winners != 1)
                {
                    lost++;
                }
            }
            Assert.That(lost, Is.EqualTo(0));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test, Category(EndToEnd.Category)] // runs ln and stat
    public void WorkerRewrites_ReuseTheReplacedFile_NeverOneLinkedElsewhere_AndKeepJobFilesPrivate()
    {
        var root = Directory.CreateTempSubdirectory("queuectl-atomic-").FullName;
        try
        {
            var home = new QueueHome(root);
            home.EnsureCreated();
            var worker = home.ForWorker("w-spare-test");
            Directory.CreateDirectory(worker.Staging);
            var path = home.JobPath(JobState.Pending, "job");
            // A dropped file, readable by others and hard-linked elsewhere by its writer.
            File.WriteAllText(path, "v1");
            File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);
            var elsewhere = Path.Combine(root, "elsewhere.json");
            Tool("ln", path, elsewhere);
            static string Inode(string p) => Tool("stat", "-c", "%i", p);

            Assert.That(AtomicFile.Replace(worker, path, "v2"u8), Is.True);
            var v2Inode = Inode(path);
            Assert.That(AtomicFile.Replace(worker, path, "v3"u8), Is.True); // the v1 file (two links) is deleted, never written
            Assert.That(AtomicFile.Replace(worker, path, "v4"u8), Is.True); // written into the v2 file

            Assert.That(File.ReadAllText(path), Is.EqualTo("v4"));
            Assert.That(File.ReadAllText(elsewhere), Is.EqualTo("v1"), "a file linked elsewhere is never written into");
            Assert.That(Inode(path), Is.EqualTo(v2Inode), "the replaced file was reused, not a new one created");
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            Assert.That(Directory.GetFiles(worker.Staging), Has.Length.EqualTo(1), "one spare: the v3 file");

            // The dropped file's 0644 inode, once replaced, is made private before it holds a job again.
            var dropped = home.JobPath(JobState.Pending, "dropped");
            File.WriteAllText(dropped, "d1");
            File.SetUnixFileMode(dropped, (UnixFileMode)0b110_100_100);
            var droppedInode = Inode(dropped);
            var other = home.JobPath(JobState.Pending, "other");
            File.WriteAllText(other, "o1");
            Assert.That(AtomicFile.Replace(worker, dropped, "d2"u8), Is.True); // uses the v3 spare; d1's file becomes one
            Assert.That(AtomicFile.Replace(worker, other, "o2"u8), Is.True); // written into d1's file
            Assert.That(Inode(other), Is.EqualTo(droppedInode));
            Assert.That(File.ReadAllText(other), Is.EqualTo("o2"));
            Assert.That(File.GetUnixFileMode(other), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Runs a coreutils command and returns its output (ln, stat: what .NET does not offer).</summary>
    private static string Tool(string name, params string[] args)
    {
        EndToEnd.Require(name);
        var start = new System.Diagnostics.ProcessStartInfo(name) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.EqualTo(0), $"{name} {string.Join(' ', args)}");
        return output;
    }
}
