using System.Diagnostics;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>
/// Commands write to fds 1 and 2 through StandardStream, not System.Console: a reader that goes
/// away (`queuectl list | head -1`) ends the output quietly, as it did through Console, and text
/// is UTF-8 whatever the locale says.
/// </summary>
[Category("EndToEnd")]
public class StandardStreamTests
{
    [Test]
    public void AReaderThatStopsEarly_EndsTheOutputQuietly()
    {
        using var home = new TempHome(inProcess: false);
        var lines = string.Join('\n', Enumerable.Range(0, 3000).Select(i => $$"""{"command":"echo job {{i}} with a line long enough to fill the pipe"}"""));
        var enqueued = home.RunWithInput(lines, "enqueue", "-");
        Assert.That(enqueued.ExitCode, Is.EqualTo(0), enqueued.Stderr);

        var start = new ProcessStartInfo(QueueCtlProcess.Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "list", "--home", home.Root })
        {
            start.ArgumentList.Add(arg);
        }
        using var list = Process.Start(start)!;
        var stderr = list.StandardError.ReadToEndAsync();
        var first = list.StandardOutput.ReadLine();
        list.StandardOutput.Close(); // the reader goes away with most of the output unread
        Assert.That(list.WaitForExit(30_000), Is.True, "list ends");

        Assert.That(first, Does.StartWith("ID"));
        Assert.That(stderr.Result, Is.Empty, "no 'Broken pipe' error");
        Assert.That(list.ExitCode, Is.EqualTo(0));
    }

    [Test]
    public void Text_IsUtf8_WhateverTheLocale()
    {
        using var home = new TempHome(inProcess: false);
        var environment = new Dictionary<string, string?> { ["LANG"] = "en_US.ISO-8859-1", ["LC_ALL"] = "en_US.ISO-8859-1" };

        var enqueued = QueueCtlProcess.Run(["enqueue", "--home", home.Root, "--id", "greet", "--command", "echo 'héllo 日本 😀'"], environment: environment);
        var shown = QueueCtlProcess.Run(["list", "--home", home.Root], environment: environment);

        Assert.That(enqueued.ExitCode, Is.EqualTo(0), enqueued.Stderr);
        Assert.That(shown.Stdout, Does.Contain("echo 'héllo 日本 😀'"));
    }
}
