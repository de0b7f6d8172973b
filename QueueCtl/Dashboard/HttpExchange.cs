using System.Text;

namespace QueueCtl.Dashboard;

/// <summary>One request and the response being built for it, as the dashboard's routes see them; <see cref="HttpServer"/> reads and writes the wire.</summary>
internal sealed class HttpExchange(HttpRequest request)
{
    public HttpRequest Request { get; } = request;

    public HttpResponse Response { get; } = new();
}

/// <summary>A parsed request: method, path segments, headers and query, all decoded.</summary>
internal sealed class HttpRequest(string method, string[] segments, Dictionary<string, string> headers, Dictionary<string, List<string>> query)
{
    public string Method { get; } = method;

    /// <summary>The path's segments, each percent-decoded after the split: an encoded '/' never makes a segment.</summary>
    public string[] Segments { get; } = segments;

    /// <summary>A header's value ("" when absent); a repeated header's values joined with ", ".</summary>
    public string Header(string name) => headers.GetValueOrDefault(name) ?? "";

    /// <summary>A query parameter ("" when absent); a repeated one's values joined with ",".</summary>
    public string Query(string name) => query.TryGetValue(name, out var values) ? string.Join(',', values) : "";

    /// <summary>Every value of a repeated query parameter, in order.</summary>
    public IReadOnlyList<string> QueryAll(string name) => query.TryGetValue(name, out var values) ? values : [];

    /// <summary>The Host header as sent ("127.0.0.1:8787"), or "".</summary>
    public string Host => Header("Host");

    /// <summary>
    /// The Host header without its port: "127.0.0.1", "localhost", "[::1]" (an IPv6 literal keeps
    /// its brackets). "" when there is none or it is malformed (an IPv6 literal without brackets).
    /// </summary>
    public string HostName
    {
        get
        {
            var host = Host;
            if (host.StartsWith('['))
            {
                var end = host.IndexOf(']', StringComparison.Ordinal);
                return end < 0 || end + 1 < host.Length && host[end + 1] != ':' ? "" : host[..(end + 1)];
            }
            var colon = host.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                return host;
            }
            return host.IndexOf(':', colon + 1) >= 0 ? "" : host[..colon];
        }
    }
}

/// <summary>The response being built: sent whole, with its length, once the route returns.</summary>
internal sealed class HttpResponse
{
    public int StatusCode { get; set; } = 200;

    public string? ContentType { get; set; }

    /// <summary>Headers besides Content-Type, Content-Length and Connection (which the server writes).</summary>
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public MemoryStream Body { get; } = new();

    public Task WriteAsync(string text) => Body.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();
}
