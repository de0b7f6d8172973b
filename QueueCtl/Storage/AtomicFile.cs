namespace QueueCtl.Storage;

/// <summary>
/// Every job-file write: bytes into a new file under tmp/, fsync, one rename into place,
/// fsync of the destination folder. `cat` never sees half a file; a crash leaves at most a
/// stray file in tmp/ (never read as a job).
/// </summary>
internal static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="destination"/> atomically. With <paramref name="noReplace"/> an
    /// existing file is left alone and false is returned.
    /// </summary>
    public static bool Write(QueueHome home, string destination, ReadOnlySpan<byte> bytes, bool noReplace)
    {
        var staged = StageInTmp(home, Path.GetFileName(destination), bytes);
        var result = Native.Move(staged, destination, noReplace);
        if (result != MoveResult.Moved)
        {
            File.Delete(staged);
            if (result == MoveResult.SourceMissing)
            {
                throw new IOException($"The folder of '{destination}' is missing.");
            }
            return false;
        }
        Native.FsyncDirectory(Path.GetDirectoryName(destination)!);
        return true;
    }

    /// <summary>Writes a flushed copy under tmp/ with a unique hidden name and returns its path.</summary>
    public static string StageInTmp(QueueHome home, string name, ReadOnlySpan<byte> bytes)
    {
        var staged = Path.Combine(home.Tmp, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        using (var stream = new FileStream(staged, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        return staged;
    }
}
