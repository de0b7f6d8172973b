
namespace QueueCtl.Tests.Support;

/// <summary>Makes a folder read-only with a bind mount (needs root, as CI is), and undoes it.</summary>
public sealed class ReadOnlyMount : IDisposable
{
    private readonly string _path;
    private bool _mounted;

    public ReadOnlyMount(string path)
    {
        _path = path;
        if (Processes.ExitCodeOf("mount", "--bind", path, path) != 0)
        {
            Assert.Ignore("This test needs root to bind-mount a folder read-only.");
        }
        _mounted = true;
        if (Processes.ExitCodeOf("mount", "-o", "remount,ro,bind", path) != 0)
        {
            Dispose();
            Assert.Ignore("This test needs root to remount a folder read-only.");
        }
    }

    public void Dispose()
    {
        // A worker may hold a folder of the mount open for a moment (a listing): umount then
        // says busy, so it is tried again for a while.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (_mounted)
        {
            _mounted = Processes.ExitCodeOf("umount", _path) != 0;
            if (_mounted && DateTime.UtcNow > deadline)
            {
                break;
            }
            if (_mounted)
            {
                Thread.Sleep(50);
            }
        }
    }
}
