using QueueCtl.Config;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>Keeps a worker's settings current: config.json is re-read whenever its mtime or size changes.</summary>
internal sealed class SettingsWatcher(QueueHome home)
{
    private (DateTime, long) _seen = (DateTime.MinValue, -1);
    private Settings _settings = new();

    public Settings Current
    {
        get
        {
            var info = new FileInfo(home.ConfigFile);
            var stamp = info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1L);
            if (stamp != _seen)
            {
                try
                {
                    _settings = ConfigStore.Load(home);
                    _seen = stamp;
                }
                catch (Failure)
                {
                    // A hand-edited config.json that does not parse: keep the last good settings.
                }
            }
            return _settings;
        }
    }
}
