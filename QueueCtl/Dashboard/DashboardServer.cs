using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using QueueCtl.Storage;

namespace QueueCtl.Dashboard;

/// <summary>
/// `queuectl dashboard`: Kestrel (ASP.NET Core's slim builder, from the shared framework) with one
/// request handler and hand-written routes, so it needs no reflection and runs under NativeAOT.
/// Everything under /api/ (job files, commands, logs, workers, and retry) needs the token printed at
/// start; the page shell and /metrics (counts only) do not. See RequestGuard.
/// </summary>
internal static class DashboardServer
{
    public static int Run(QueueHome home, string bind, int port, TextWriter output, TextWriter error, TimeProvider time)
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var host = bind.Contains(':', StringComparison.Ordinal) ? $"[{bind}]" : bind;
        builder.WebHost.UseUrls($"http://{host}:{port}");
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Timing.DashboardShutdown);
        var app = builder.Build();
        var api = new DashboardApi(home, new RequestGuard(token, bind), time);
        app.Run(api.HandleAsync);
        try
        {
            app.Start();
        }
        catch (IOException e)
        {
            throw Failure.Operation($"Cannot listen on {bind}:{port}: {e.Message}");
        }
        var url = app.Urls.First();
        output.WriteLine($"Dashboard on {url}/ (home {home.Root})");
        output.WriteLine($"Token (needed by /api/ and the page; /metrics is open): {token}");
        output.WriteLine($"Open {url}/#token={token} in a browser. Ctrl-C stops.");
        if (!IsLoopback(bind))
        {
            error.WriteLine($"queuectl: warning: listening on {bind}, not loopback: anyone who can reach it can read /metrics, and the token crosses the network unencrypted.");
        }
        output.Flush();
        app.WaitForShutdown();
        return 0;
    }

    private static bool IsLoopback(string bind) =>
        bind is "localhost" or "::1" || bind.StartsWith("127.", StringComparison.Ordinal);
}
