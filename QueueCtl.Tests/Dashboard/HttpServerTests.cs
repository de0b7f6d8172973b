using System.Net;
using System.Net.Sockets;
using System.Text;
using QueueCtl.Dashboard;

namespace QueueCtl.Tests.Dashboard;

/// <summary>
/// The dashboard's own HTTP/1.1 server, in process on a loopback port, spoken to byte by byte:
/// what it decodes for the routes, and how it refuses what it does not serve. The routes and the
/// RequestGuard behind it are tested through a real dashboard (DashboardTests, DashboardSecurityTests).
/// </summary>
[Parallelizable(ParallelScope.All)]
public class HttpServerTests
{
    /// <summary>Starts a server whose one route echoes what it was given; stops it when disposed.</summary>
    private sealed class EchoServer : IDisposable
    {
        private readonly HttpServer _server = HttpServer.Listen(IPAddress.Loopback, 0, TimeProvider.System);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;

        public EchoServer()
        {
            _serving = _server.ServeAsync(async exchange =>
            {
                var r = exchange.Request;
                if (r.Segments is ["boom"])
                {
                    throw new InvalidOperationException("the route failed");
                }
                exchange.Response.ContentType = "text/plain";
                exchange.Response.Headers["X-Echo"] = "yes";
                await exchange.Response.WriteAsync(
                    $"{r.Method}|{string.Join('/', r.Segments.Select(s => $"<{s}>"))}|host={r.HostName}|q={r.Query("q")}|labels={string.Join(';', r.QueryAll("label"))}|token={r.Header("x-queuectl-token")}");
            }, _stop.Token);
        }

        public int Port => _server.Port;

        public void Dispose()
        {
            _stop.Cancel();
            Assert.That(_serving.Wait(TimeSpan.FromSeconds(10)), Is.True, "the server stopped");
            _server.Dispose();
            _stop.Dispose();
        }
    }

    /// <summary>Sends raw bytes and reads until the server closes the connection.</summary>
    private static string Exchange(int port, string raw)
    {
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, port);
        client.ReceiveTimeout = 10_000;
        var stream = client.GetStream();
        stream.Write(Encoding.Latin1.GetBytes(raw));
        using var received = new MemoryStream();
        stream.CopyTo(received);
        return Encoding.UTF8.GetString(received.ToArray());
    }

    [Test]
    public void ARequest_IsDecodedForTheRoute_AndAnsweredWithItsLength()
    {
        using var server = new EchoServer();
        var response = Exchange(server.Port,
            "GET /api/jobs/a%20b/%2Fx?q=grep+me%21&label=x&label=y%26z HTTP/1.1\r\nHost: 127.0.0.1:8787\r\nX-Queuectl-Token: t0k\r\n\r\n");

        Assert.That(response, Does.StartWith("HTTP/1.1 200 OK\r\n"));
        Assert.That(response, Does.Contain("\r\nConnection: close\r\n"));
        Assert.That(response, Does.Contain("\r\nX-Echo: yes\r\n"));
        var body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        // An encoded '/' stays inside its segment; '+' in the query is a space; a label repeats.
        Assert.That(body, Is.EqualTo("GET|<api>/<jobs>/<a b>/</x>|host=127.0.0.1|q=grep me!|labels=x;y&z|token=t0k"));
        Assert.That(response, Does.Contain($"\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n"));
    }

    [TestCase("Host: [::1]:8787", "[::1]")]
    [TestCase("Host: localhost", "localhost")]
    [TestCase("Host: ::1", "")]
    [TestCase("Host: [::1]x", "")]
    [TestCase("X-Other: 1", "")]
    public void TheHostName_DropsThePort_AndIsEmptyWhenMalformedOrMissing(string header, string expected)
    {
        using var server = new EchoServer();
        var response = Exchange(server.Port, $"GET / HTTP/1.1\r\n{header}\r\n\r\n");
        Assert.That(response, Does.Contain($"|host={expected}|"));
    }

    [Test]
    public void APostBody_IsReadAndDropped_SoTheResponseArrivesWhole()
    {
        using var server = new EchoServer();
        var body = new string('b', 60_000);
        var response = Exchange(server.Port, $"POST /api/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        Assert.That(response, Does.StartWith("HTTP/1.1 200 OK"));
        Assert.That(response, Does.EndWith("POST|<api>/<x>|host=localhost|q=|labels=|token="));
    }

    [Test]
    public void AHeadRequest_GetsTheHeadersWithoutTheBody()
    {
        using var server = new EchoServer();
        var response = Exchange(server.Port, "HEAD /page HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.That(response, Does.StartWith("HTTP/1.1 200 OK"));
        Assert.That(response, Does.Match(@"Content-Length: [1-9]\d*\r\n"));
        Assert.That(response, Does.EndWith("\r\n\r\n"), "no body after the head");
    }

    [TestCase("NONSENSE\r\n\r\n", 400)]
    [TestCase("GET http://elsewhere/ HTTP/1.1\r\nHost: x\r\n\r\n", 400)]
    [TestCase("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400)]
    [TestCase("GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400)]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411)]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n", 413)]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 413)]
    public void WhatItDoesNotServe_IsRefusedWithAStatusAndOneLine(string raw, int status)
    {
        using var server = new EchoServer();
        var response = Exchange(server.Port, raw);
        Assert.That(response, Does.StartWith($"HTTP/1.1 {status} "));
        var body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.That(body.TrimEnd('\n'), Does.Not.Contain('\n').And.Not.Empty);
    }

    [Test]
    public void AHeadLargerThan32KB_Gets431()
    {
        using var server = new EchoServer();
        var response = Exchange(server.Port, $"GET / HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 33_000)}\r\n\r\n");
        Assert.That(response, Does.StartWith("HTTP/1.1 431 "));
    }

    [Test]
    public void ARouteThatThrows_Gets500_AndTheServerGoesOn()
    {
        using var server = new EchoServer();
        Assert.That(Exchange(server.Port, "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n"), Does.StartWith("HTTP/1.1 500 "));
        Assert.That(Exchange(server.Port, "GET /fine HTTP/1.1\r\nHost: x\r\n\r\n"), Does.StartWith("HTTP/1.1 200 "));
    }

    [Test]
    public void APortInUse_IsRefusedAtListen_ButAPortLeftInTimeWaitIsNot()
    {
        int port;
        using (var first = new EchoServer())
        {
            port = first.Port;
            Assert.Throws<SocketException>(() => HttpServer.Listen(IPAddress.Loopback, port, TimeProvider.System).Dispose());
            Exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); // the server closes first: its side waits in TIME_WAIT
        }
        HttpServer.Listen(IPAddress.Loopback, port, TimeProvider.System).Dispose(); // a restart on the same port
    }
}
