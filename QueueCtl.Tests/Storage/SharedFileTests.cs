using QueueCtl.Storage;

namespace QueueCtl.Tests.Storage;

/// <summary>
/// ESTALE itself needs a network file system (the multi-host stage makes it: `list` on one host
/// while the other moves jobs). These pin down what SharedFile relies on to recognise it.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class SharedFileTests
{
    [Test]
    public void AnErrnoWithoutAnExceptionTypeOfItsOwn_IsAnIOExceptionCarryingTheErrno()
    {
        // ELOOP (40), like ESTALE (116), has no dedicated .NET exception: its HResult is the errno.
        var folder = Directory.CreateTempSubdirectory("queuectl-shared-").FullName;
        try
        {
            var loop = Path.Combine(folder, "loop.json");
            File.CreateSymbolicLink(loop, "loop.json");

            var e = Assert.Throws<IOException>(() => SharedFile.ReadAllBytes(loop))!;

            Assert.That(e.HResult, Is.EqualTo(40), e.Message);
            Assert.That(SharedFile.IsStale(e), Is.False);
            Assert.That(SharedFile.IsStale(new IOException("Stale file handle", 116)), Is.True);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public void AMovedFile_ReadsAsNotFound_SoCallersSkipIt()
    {
        var folder = Directory.CreateTempSubdirectory("queuectl-shared-").FullName;
        try
        {
            Assert.Throws<FileNotFoundException>(() => SharedFile.ReadAllBytes(Path.Combine(folder, "gone.json")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
