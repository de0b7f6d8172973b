using System.Globalization;

namespace QueueCtl;

/// <summary>
/// Sizes as people type them: 1048576, 512K, 10M, 1G (binary units). A leaf in the root
/// namespace like Failure, not in Config: the job parser (Jobs, the lowest layer) prints its
/// limits with it as much as `config` does.
/// </summary>
internal static class ByteSize
{
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        text = text.Trim();
        if (text.Length == 0)
        {
            return false;
        }
        long unit = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 1024,
            'M' => 1024 * 1024,
            'G' => 1024 * 1024 * 1024,
            _ => 1,
        };
        var number = unit == 1 ? text : text[..^1];
        if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > long.MaxValue / unit)
        {
            return false;
        }
        bytes = value * unit;
        return true;
    }

    /// <summary>The shortest exact form: 10M, 512K, 1000.</summary>
    public static string Format(long bytes) => bytes switch
    {
        > 0 when bytes % (1024 * 1024 * 1024) == 0 => $"{bytes / (1024 * 1024 * 1024)}G",
        > 0 when bytes % (1024 * 1024) == 0 => $"{bytes / (1024 * 1024)}M",
        > 0 when bytes % 1024 == 0 => $"{bytes / 1024}K",
        _ => bytes.ToString(CultureInfo.InvariantCulture),
    };
}
