using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>
/// Reads a file from pending/, where anyone may drop anything: a file over
/// <see cref="JobLimits.MaxFileBytes"/> is refused (a Failure, so it goes to rejected/) after
/// reading at most one byte past the limit, so a 50 MB file never costs a worker 50 MB.
/// </summary>
internal static class PendingFile
{
    public static byte[] Read(string path)
    {
        using var stream = RegularFile.OpenRead(path); // never blocks on a FIFO dropped as a job
        JobParser.CheckSize(stream.Length);
        // The file may still grow while we read (a plain cp): never read past the limit + 1.
        var buffer = new byte[Math.Min(stream.Length, JobLimits.MaxFileBytes) + 1];
        var filled = 0;
        int read;
        while (filled < buffer.Length && (read = stream.Read(buffer, filled, buffer.Length - filled)) > 0)
        {
            filled += read;
            if (filled == buffer.Length && buffer.Length <= JobLimits.MaxFileBytes)
            {
                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, JobLimits.MaxFileBytes + 1));
            }
        }
        JobParser.CheckSize(filled);
        return buffer[..filled];
    }
}
