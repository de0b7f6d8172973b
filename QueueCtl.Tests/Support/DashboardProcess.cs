using System.Diagnostics;
using System.Text.RegularExpressions;

namespace QueueCtl.Tests.Support;

/// <summary>
/// `queuectl dashboard --port 0` as a child process; knows its URL and token. <see cref="Client"/>
/// sends the token (as the page does); <see cref="Anonymous"/> sends none.
/// </summary>
public sealed partial class DashboardProcess : IDisposable
{
    private readonly Process _process;

    public DashboardProcess(TempHome home, string? executable = null)
    {
        EndToEnd.Require("queuectl dashboard");
        var start = new ProcessStartInfo(executable ?? QueueCtlProcess.Executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "dashboard", "--port", "0", "--home", home.Root })
        {
            start.ArgumentList.Add(arg);
        }
        _process = Process.Start(start)!;
        var printed = "";
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!printed.Contains("Ctrl-C", StringComparison.Ordinal))
        {
            var line = _process.StandardOutput.ReadLine();
            if (line is null || DateTime.UtcNow > deadline)
            {
                Assert.Fail($"The dashboard did not start: {printed}{_process.StandardError.ReadToEnd()}");
            }
            printed += line + "\n";
        }
        Url = UrlPattern().Match(printed).Value;
        Token = TokenPattern().Match(printed).Groups[1].Value;
        Client = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(30) };
        Client.DefaultRequestHeaders.Add("X-Queuectl-Token", Token);
        Anonymous = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Url { get; }
    public string Token { get; }
    public HttpClient Client { get; }
    public HttpClient Anonymous { get; }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+")]
    private static partial Regex UrlPattern();

    [GeneratedRegex(@"Token \(needed by /api/ and the page; /metrics is open\): ([0-9a-f]{32})")]
    private static partial Regex TokenPattern();

    public void Dispose()
    {
        Client.Dispose();
        Anonymous.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}
