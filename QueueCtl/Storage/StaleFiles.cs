namespace QueueCtl.Storage;

/// <summary>
/// Removes what failed writes and crashed starts leave in tmp/, by age, like Maildir's 36-hour
/// rule: a file directly in tmp/ older than <see cref="Timing.StaleTmpFileAge"/> (an enqueue or a rewrite that
/// died between writing its staged copy and the rename; no write takes that long), and a worker's
/// staging folder tmp/&lt;worker&gt;/ older than <see cref="Timing.StaleTmpFolderAge"/> whose worker has no
/// registration in workers/ (it died at start, before it registered; a registered worker's
/// folder is left to recovery, which removes it with the registration once the worker is dead).
/// Never a job: tmp/ is never read as one. Ages are judged by mtime against this host's clock;
/// a skew of minutes between hosts sharing a home is far below both ages.
/// </summary>
internal static class StaleFiles
{
    private static long _nextTicks;

    /// <summary>
    /// For a worker's heartbeat: cleans at the first call, then at most once per
    /// <see cref="Timing.StaleTmpCleanEvery"/> in this process (a listing of tmp/, cheap, but not every few seconds).
    /// </summary>
    public static int CleanNowAndThen(QueueHome home, DateTime now)
    {
        var next = Interlocked.Read(ref _nextTicks);
        if (now.Ticks < next || Interlocked.CompareExchange(ref _nextTicks, (now + Timing.StaleTmpCleanEvery).Ticks, next) != next)
        {
            return 0;
        }
        return Clean(home, now);
    }

    /// <summary>Removes stale entries of tmp/ and returns how many.</summary>
    public static int Clean(QueueHome home, DateTime now)
    {
        var tmp = new DirectoryInfo(home.Tmp);
        if (!tmp.Exists)
        {
            return 0;
        }
        var removed = 0;
        foreach (var entry in tmp.EnumerateFileSystemInfos())
        {
            try
            {
                if (entry is DirectoryInfo folder && folder.LinkTarget is null)
                {
                    if (now - folder.LastWriteTimeUtc > Timing.StaleTmpFolderAge
                        && !File.Exists(Path.Combine(home.Workers, folder.Name + ".json"))
                        && !Directory.Exists(home.ProcessingFolder(folder.Name)))
                    {
                        folder.Delete(recursive: true);
                        removed++;
                    }
                }
                else if (now - entry.LastWriteTimeUtc > Timing.StaleTmpFileAge)
                {
                    File.Delete(entry.FullName); // a file, or a symlink (never followed)
                    removed++;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // RACE: gone meanwhile (another cleaner), or a worker staged a file into it again: next round.
            }
        }
        return removed;
    }
}
