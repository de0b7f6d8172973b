using CommandLine;
using QueueCtl.Dashboard;

namespace QueueCtl.Cli;

[Verb("dashboard", HelpText = "Serve a live web page of the queue (and /metrics) on 127.0.0.1.")]
internal sealed class DashboardOptions : CommonOptions
{
    [Option("port", MetaValue = "P", HelpText = "TCP port (default 8787; 0 picks a free one).")]
    public int Port { get; set; } = 8787;

    [Option("bind", MetaValue = "ADDR", HelpText = "Address to listen on (default 127.0.0.1).")]
    public string Bind { get; set; } = "127.0.0.1";
}

internal static class DashboardCommand
{
    public static int Run(DashboardOptions options, CliConsole console)
    {
        if (options.Port is < 0 or > 65535)
        {
            throw Failure.Usage("--port must be from 0 to 65535.");
        }
        if (!System.Net.IPAddress.TryParse(options.Bind, out _) && options.Bind != "localhost")
        {
            throw Failure.Usage($"--bind takes an IP address (such as 127.0.0.1 or ::1), not '{options.Bind}'.");
        }
        var home = options.ResolveHomeCreatedOnFirstUse();
        home.EnsureCreated();
        return DashboardServer.Run(home, options.Bind, options.Port, console.Out, console.Error, console.Clock);
    }
}
