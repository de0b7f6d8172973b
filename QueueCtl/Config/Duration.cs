using System.Globalization;

namespace QueueCtl.Config;

/// <summary>Durations as people type them: 30, 30s, 1.5s, 5m, 1h, 7d (a bare number is seconds).</summary>
internal static class Duration
{
    public const string Hint = "a duration such as 30s, 5m, 1h or 7d";

    /// <summary>
    /// The longest duration accepted anywhere: 100 years. Every caller adds durations to or
    /// subtracts them from "now", and DateTime ends in the year 9999.
    /// </summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(36500);

    public const string MaxText = "36500d";

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        text = text.Trim();
        var unit = char.IsLetter(text[^1]) ? text[^1] : 's';
        var number = char.IsLetter(text[^1]) ? text[..^1] : text;
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            || !double.IsFinite(value))
        {
            return false;
        }
        double? seconds = unit switch
        {
            's' => value,
            'm' => value * 60,
            'h' => value * 3600,
            'd' => value * 86400,
            _ => null,
        };
        if (seconds is null || seconds > Max.TotalSeconds)
        {
            return false;
        }
        duration = TimeSpan.FromSeconds(seconds.Value);
        return true;
    }

    public static TimeSpan Parse(string? text, string what) =>
        TryParse(text, out var duration)
            ? duration
            : throw Failure.Usage($"Invalid {what} '{text}': expected {Hint}, at most {MaxText} (100 years).");
}
