using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace QueueCtl.Dashboard;

/// <summary>
/// The dashboard's three gates, checked before any route (docs/dashboard.md, "How it is built"):
/// the Host header must name this machine's loopback (a DNS-rebinding page sends its own name),
/// an Origin header must be the page's own origin (no cross-site POST), and everything under
/// /api/ needs the token printed at start in a header a plain form or link cannot send.
/// </summary>
internal sealed class RequestGuard(string token, string bind)
{
    public const string TokenHeader = "X-Queuectl-Token";

    private static readonly string[] LoopbackNames = ["127.0.0.1", "localhost", "[::1]"];

    private readonly byte[] _token = Encoding.UTF8.GetBytes(token);

    /// <summary>The one-line body of a 421: which Host values this dashboard answers to.</summary>
    public string HostRefusal { get; } = "queuectl dashboard answers only to Host 127.0.0.1, localhost or [::1]"
        + (!IPAddress.TryParse(bind, out var b) || IPAddress.IsLoopback(b) ? ""
            : b.Equals(IPAddress.Any) || b.Equals(IPAddress.IPv6Any) ? ", or an IP address (never another name)"
            : $", or {(b.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{b}]" : b)}")
        + "; open the address it printed.\n";

    /// <summary>
    /// Loopback names, with any port. When --bind names another address, that literal address too;
    /// when it is a wildcard (0.0.0.0, ::), any IP literal. Never a DNS name other than localhost:
    /// a name can be pointed at 127.0.0.1 by whoever owns it, an address cannot.
    /// </summary>
    public bool AllowsHost(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }
        if (LoopbackNames.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            return true;
        }
        var literal = name.StartsWith('[') && name.EndsWith(']') ? name[1..^1] : name;
        if (!IPAddress.TryParse(literal, out var address) || !address.ToString().Equals(literal, StringComparison.OrdinalIgnoreCase))
        {
            return false; // a name, or an address spelt oddly (2130706433, 0x7f.1)
        }
        if (!IPAddress.TryParse(bind, out var bound))
        {
            return false; // bound to "localhost": the loopback names above are all there is
        }
        return bound.Equals(IPAddress.Any) || bound.Equals(IPAddress.IPv6Any) || bound.Equals(address);
    }

    /// <summary>No Origin (curl, Prometheus, a same-origin GET), or exactly this page's origin.</summary>
    public static bool AllowsOrigin(HttpRequest request)
    {
        var origin = request.Header("Origin");
        return origin.Length == 0 || origin.Equals($"http://{request.Host}", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The token in X-Queuectl-Token or Authorization: Bearer, compared in constant time. Never from
    /// the query string or a form body: those a cross-site page can send.
    /// </summary>
    public bool HasToken(HttpRequest request)
    {
        var given = request.Header(TokenHeader);
        var auth = request.Header("Authorization");
        if (given.Length == 0 && auth.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            given = auth["Bearer ".Length..].Trim();
        }
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _token);
    }
}
