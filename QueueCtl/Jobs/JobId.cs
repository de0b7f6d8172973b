using System.Globalization;
using System.Text.RegularExpressions;

namespace QueueCtl.Jobs;

/// <summary>Job ids become file names, so only a safe alphabet is allowed.</summary>
internal static partial class JobId
{
    public const string Rule = "1 to 128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex Pattern();

    public static bool IsValid(string id) => Pattern().IsMatch(id);

    /// <summary>
    /// A new id that sorts by creation time: 20251104-103000-123-9f2c4a1b. The random part is the
    /// first 32 bits of a version-4 Guid (the OS's secure random bytes, like RandomNumberGenerator,
    /// without loading OpenSSL: a millisecond of every enqueue).
    /// </summary>
    public static string New(DateTime utc) =>
        $"{utc:yyyyMMdd-HHmmss-fff}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>The creation time in an id made by <see cref="JobId.New"/> (yyyyMMdd-HHmmss-fff-xxxxxxxx), else null.</summary>
    public static DateTime? TimeOf(string id)
    {
        if (id.Length != 28 || id[8] != '-' || id[15] != '-' || id[19] != '-')
        {
            return null;
        }
        foreach (var c in id.AsSpan(20))
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return null;
            }
        }
        return DateTime.TryParseExact(id.AsSpan(0, 19), "yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : null;
    }
}
