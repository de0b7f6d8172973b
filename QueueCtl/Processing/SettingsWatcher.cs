using QueueCtl.Config;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// Keeps a worker's settings current: config.json is re-read whenever its mtime or size changes.
/// Reading never throws: when config.json does not parse, or cannot be read (a network file system
/// that lost its server answers ENOTCONN), the last good settings stay in force.
/// With a <paramref name="time"/> (a worker's), config.json is looked at most once every
/// <see cref="Timing.SettingsLook"/>: a worker asks for its settings several times a job, and a
/// `stat` each time made 6.7 `lstat` calls a job (bench/README.md, "Per-job listing").
/// </summary>
internal sealed class SettingsWatcher(QueueHome home, TimeProvider? time = null)
{
    private (DateTime, long) _seen = (DateTime.MinValue, -1);
    private Settings _settings = new();
    private long _lookedAt;
    private bool _looked;

    public Settings Current
    {
        get
        {
            if (time is not null)
            {
                if (Volatile.Read(ref _looked) && time.GetElapsedTime(Volatile.Read(ref _lookedAt)) < Timing.SettingsLook)
                {
                    return _settings;
                }
                Volatile.Write(ref _lookedAt, time.GetTimestamp());
                Volatile.Write(ref _looked, true);
            }
            var info = new FileInfo(home.ConfigFile);
            var stamp = info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1L);
            if (stamp != _seen)
            {
                try
                {
                    _settings = ConfigStore.Load(home);
                    _seen = stamp;
                }
                catch (Exception e) when (e is Failure or IOException or UnauthorizedAccessException)
                {
                    // A hand-edited config.json that does not parse, or a home that cannot be read
                    // right now: keep the last good settings and read again on the next call.
                }
            }
            return _settings;
        }
    }
}
