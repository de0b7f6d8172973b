using System.Globalization;

namespace QueueCtl;

/// <summary>
/// Seconds as the shortest exact text: 30, 1.5. A leaf in the root namespace like ByteSize: the
/// job parser (Jobs, the lowest layer) prints a refused timeout_seconds with it, Config its
/// settings, the CLI and the worker their waits.
/// </summary>
internal static class SecondsText
{
    public static string Format(double seconds) => seconds.ToString("0.###", CultureInfo.InvariantCulture);
}
