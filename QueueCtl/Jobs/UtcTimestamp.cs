using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace QueueCtl.Jobs;

/// <summary>ISO-8601 UTC with milliseconds, always ending in Z: 2025-11-04T10:30:00.000Z.</summary>
internal static class UtcTimestamp
{
    private const string Format = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public static string ToText(DateTime utc) =>
        utc.ToUniversalTime().ToString(Format, CultureInfo.InvariantCulture);

    /// <summary>Accepts any ISO-8601 date-time with an offset or Z; a value without one is read as UTC.</summary>
    public static bool TryParse(string text, out DateTime utc)
    {
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            && text.Contains('T', StringComparison.Ordinal))
        {
            utc = value.UtcDateTime;
            return true;
        }
        utc = default;
        return false;
    }

    /// <summary>Truncates to the millisecond, the precision kept on disk.</summary>
    public static DateTime Truncate(DateTime utc) =>
        new(utc.Ticks - utc.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
}

internal sealed class UtcTimestampConverter : JsonConverter<DateTime>
{
    public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        if (text is null || !UtcTimestamp.TryParse(text, out var utc))
        {
            throw new JsonException($"'{text}' is not an ISO-8601 date-time.");
        }
        return utc;
    }

    public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) =>
        writer.WriteStringValue(UtcTimestamp.ToText(value));
}
