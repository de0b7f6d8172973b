using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace QueueCtl.Dashboard;

/// <summary>
/// The dashboard's web server: HTTP/1.1 over a listening socket, one request per connection
/// (every response says `Connection: close`), the whole response buffered and sent with its
/// length. That is all a page polling a JSON API on loopback, curl and Prometheus need, and it
/// keeps a web framework out of the binary that every command starts (docs/decisions.md, "Build
/// and start-up").
/// Limits: a request head of at most 32 KB (431 past it), a body of at most 64 KB read and
/// dropped (413 past it; no route reads one), no chunked request bodies (411), and
/// <see cref="Timing.HttpRequestRead"/> to send the request and again to take the response.
/// </summary>
internal sealed class HttpServer : IDisposable
{
    private const int MaxHead = 32 * 1024;
    private const int MaxBody = 64 * 1024;

    private readonly Socket _listener;
    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private readonly HashSet<Task> _inFlight = [];

    private HttpServer(Socket listener, TimeProvider time)
    {
        _listener = listener;
        _time = time;
    }

    /// <summary>The port listened on (the one the system chose when 0 was asked for).</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>Listens on <paramref name="address"/>; a port in use or an address not on this machine throws SocketException.</summary>
    public static HttpServer Listen(IPAddress address, int port, TimeProvider time)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true; // "::" takes IPv4 clients too
            }
            // .NET sets SO_REUSEADDR on Unix before the bind: a restart may take the port while
            // the last run's connections linger in TIME_WAIT; it never lets two listeners share it.
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(128);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new HttpServer(socket, time);
    }

    /// <summary>Answers requests until <paramref name="stop"/>, then waits up to <see cref="Timing.DashboardShutdown"/> for those in flight.</summary>
    public async Task ServeAsync(Func<HttpExchange, Task> handler, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException)
            {
                continue; // RACE: the client gave up before its connection was accepted
            }
            var connection = Task.Run(() => AnswerAsync(client, handler));
            lock (_lock)
            {
                _inFlight.Add(connection);
            }
            _ = connection.ContinueWith(done => { lock (_lock) { _inFlight.Remove(done); } }, TaskScheduler.Default);
        }
        Task[] left;
        lock (_lock)
        {
            left = [.. _inFlight];
        }
        try
        {
            await Task.WhenAll(left).WaitAsync(Timing.DashboardShutdown, _time);
        }
        catch (TimeoutException)
        {
            // Requests still running at the end of the grace are cut off with the process.
        }
    }

    public void Dispose() => _listener.Dispose();

    private async Task AnswerAsync(Socket client, Func<HttpExchange, Task> handler)
    {
        using var owned = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        try
        {
            HttpRequest? request;
            Refusal refusal;
            using (var reading = new CancellationTokenSource(Timing.HttpRequestRead, _time))
            {
                (request, refusal) = await ReadRequestAsync(stream, reading.Token);
            }
            HttpResponse response;
            if (request is null)
            {
                response = PlainText(refusal.Status, refusal.Message);
            }
            else
            {
                var exchange = new HttpExchange(request);
                try
                {
                    await handler(exchange);
                    response = exchange.Response;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Console.Error.WriteLine($"queuectl dashboard: {request.Method} /{string.Join('/', request.Segments)} failed: {e.Message}");
                    response = PlainText(500, "The dashboard failed to answer this request; its standard error says why.");
                }
            }
            using var writing = new CancellationTokenSource(Timing.HttpRequestRead, _time);
            await WriteResponseAsync(stream, response, headOnly: request?.Method == "HEAD", writing.Token);
            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // RACE: the client went away, or sent nothing in time: nothing to answer.
        }
    }

    private readonly record struct Refusal(int Status, string Message);

    /// <summary>A response of one line of text: a refusal, or a route that failed.</summary>
    private static HttpResponse PlainText(int status, string line)
    {
        var response = new HttpResponse { StatusCode = status, ContentType = "text/plain; charset=utf-8" };
        response.Body.Write(Encoding.UTF8.GetBytes(line + "\n"));
        return response;
    }

    /// <summary>Reads one request head and drops its body; a request that cannot be served gives the refusal to send instead.</summary>
    private static async Task<(HttpRequest? Request, Refusal Refusal)> ReadRequestAsync(Stream stream, CancellationToken cancel)
    {
        var buffer = new byte[MaxHead];
        var filled = 0;
        int end;
        while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (filled == buffer.Length)
            {
                return (null, new Refusal(431, "The request's head is larger than 32 KB."));
            }
            var read = await stream.ReadAsync(buffer.AsMemory(filled), cancel);
            if (read == 0)
            {
                throw new IOException("The client closed the connection before its request was complete.");
            }
            filled += read;
        }
        var lines = Encoding.Latin1.GetString(buffer, 0, end).Split("\r\n");
        var start = lines[0].Split(' ');
        if (start.Length != 3 || start[0].Length == 0 || !start[1].StartsWith('/') || !start[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return (null, new Refusal(400, "Not an HTTP/1.1 request for a path."));
        }
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line[0] is ' ' or '\t' || line.AsSpan(0, colon).ContainsAny(" \t"))
            {
                return (null, new Refusal(400, "A malformed header line."));
            }
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(' ', '\t');
            headers[name] = headers.TryGetValue(name, out var earlier) ? $"{earlier}, {value}" : value;
        }
        if (headers.ContainsKey("Transfer-Encoding"))
        {
            return (null, new Refusal(411, "Request bodies must be sent with a Content-Length."));
        }
        var length = 0L;
        if (headers.TryGetValue("Content-Length", out var given)
            && (!long.TryParse(given, NumberStyles.None, CultureInfo.InvariantCulture, out length) || length > MaxBody))
        {
            return (null, new Refusal(413, "A request body is at most 64 KB (and no route reads one)."));
        }
        // The body is read and dropped: closing a socket with unread data would reset the
        // connection, and the client could lose the response.
        for (var left = length - (filled - end - 4); left > 0;)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(left, buffer.Length)), cancel);
            if (read == 0)
            {
                throw new IOException("The client closed the connection before its body was complete.");
            }
            left -= read;
        }
        var target = start[1];
        var question = target.IndexOf('?', StringComparison.Ordinal);
        var path = question < 0 ? target : target[..question];
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        var query = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (question >= 0)
        {
            foreach (var pair in target[(question + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                var key = Decode(equals < 0 ? pair : pair[..equals]);
                var value = equals < 0 ? "" : Decode(pair[(equals + 1)..]);
                if (!query.TryGetValue(key, out var values))
                {
                    query[key] = values = [];
                }
                values.Add(value);
            }
        }
        return (new HttpRequest(start[0], segments, headers, query), default);
    }

    /// <summary>A query key or value: '+' is a space, then percent-decoding (a malformed escape stays as written).</summary>
    private static string Decode(string text) => Uri.UnescapeDataString(text.Replace('+', ' '));

    private static async Task WriteResponseAsync(Stream stream, HttpResponse response, bool headOnly, CancellationToken cancel)
    {
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.StatusCode} {Reason(response.StatusCode)}\r\n");
        if (response.ContentType is { } type)
        {
            head.Append(CultureInfo.InvariantCulture, $"Content-Type: {type}\r\n");
        }
        head.Append(CultureInfo.InvariantCulture, $"Content-Length: {response.Body.Length}\r\n");
        head.Append("Connection: close\r\n");
        foreach (var (name, value) in response.Headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), cancel);
        if (!headOnly)
        {
            await stream.WriteAsync(response.Body.GetBuffer().AsMemory(0, (int)response.Body.Length), cancel);
        }
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "",
    };
}
