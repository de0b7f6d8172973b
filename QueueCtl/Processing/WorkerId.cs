using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace QueueCtl.Processing;

/// <summary>Worker ids: w-&lt;host&gt;-&lt;random&gt;, unique across hosts sharing one home.</summary>
internal static partial class WorkerId
{
    [GeneratedRegex("[^A-Za-z0-9-]")]
    private static partial Regex Unsafe();

    public static string Host => Environment.MachineName;

    public static string New()
    {
        Span<byte> random = stackalloc byte[4];
        RandomNumberGenerator.Fill(random);
        var host = Unsafe().Replace(Host, "-");
        return $"w-{host}-{Convert.ToHexStringLower(random)}";
    }

    public static bool IsValid(string id) => Jobs.JobId.IsValid(id);
}
