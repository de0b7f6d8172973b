using System.Text;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

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
}
