using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using QueueCtl.Storage;

namespace QueueCtl.Dashboard;

/// <summary>
/// `queuectl dashboard`: a small HTTP/1.1 server of our own (<see cref="HttpServer"/>) with one
/// request handler and hand-written routes (<see cref="DashboardApi"/>). Everything under /api/
/// (job files, commands, logs, workers, and retry) needs the token printed at start; the page shell
/// and /metrics (counts only) do not. See RequestGuard. SIGINT (Ctrl-C) or SIGTERM stops it.
/// </summary>
internal static class DashboardServer
{
    public static int Run(QueueHome home, string bind, int port, TextWriter output, TextWriter error, TimeProvider time)
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        // "localhost" is served on 127.0.0.1: the Host check answers to every loopback name anyway.
        var address = bind == "localhost" ? IPAddress.Loopback : IPAddress.Parse(bind);
        HttpServer server;
        try
        {
            server = HttpServer.Listen(address, port, time);
        }
        catch (SocketException e)
        {
            throw Failure.Operation($"Cannot listen on {bind}:{port}: {e.Message}");
        }
        using (server)
        {
            using var stop = new CancellationTokenSource();
            void Stop(PosixSignalContext context)
            {
                context.Cancel = true; // the server stops and Run returns: exit 0
                stop.Cancel();
            }
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            var host = bind.Contains(':', StringComparison.Ordinal) ? $"[{bind}]" : bind;
            var url = $"http://{host}:{server.Port}";
            var api = new DashboardApi(home, new RequestGuard(token, bind), time);
            output.WriteLine($"Dashboard on {url}/ (home {home.Root})");
            output.WriteLine($"Token (needed by /api/ and the page; /metrics is open): {token}");
            output.WriteLine($"Open {url}/#token={token} in a browser. Ctrl-C stops.");
            if (!IsLoopback(bind))
            {
                error.WriteLine($"queuectl: warning: listening on {bind}, not loopback: anyone who can reach it can read /metrics, and the token crosses the network unencrypted.");
            }
            output.Flush();
            server.ServeAsync(api.HandleAsync, stop.Token).GetAwaiter().GetResult();
        }
        return 0;
    }

    private static bool IsLoopback(string bind) =>
        bind is "localhost" or "::1" || bind.StartsWith("127.", StringComparison.Ordinal);
}
