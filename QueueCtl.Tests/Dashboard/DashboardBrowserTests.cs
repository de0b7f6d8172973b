using System.Diagnostics;
using QueueCtl.Tests.Cli;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Dashboard;

/// <summary>
/// Headless Chromium (Debian's `chromium`) driven by playwright-core (npm), both installed by
/// .ci/run: without the token the page asks for the printed link; with it, it shows counts
/// changing live, retries a dead job, and saves a screenshot.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable] // a real Chromium: CPU-bound
public class DashboardBrowserTests
{
    [Test]
    public void Browser_SeesCountsChange_RetriesADeadJob_AndTakesAScreenshot()
    {
        var browserDir = Path.Combine(WrapperScriptTests.FindRepoRoot(), "QueueCtl.Tests", "Browser");
        var ready = File.Exists("/usr/bin/chromium") && Directory.Exists(Path.Combine(browserDir, "node_modules", "playwright-core"));
        if (!ready)
        {
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail("CI must have chromium and playwright-core (.ci/run installs them).");
            }
            Assert.Ignore("Needs Debian's chromium and `npm ci` in QueueCtl.Tests/Browser (.ci/run does both).");
        }

        using var home = new TempHome(inProcess: false);
        var flag = Path.Combine(home.Parent, "flag");
        home.Ok("enqueue", "--command", "true", "--id", "quick");
        home.Ok("enqueue", "--command", $"test -f '{flag}' && echo second try", "--id", "flaky", "--max-retries", "0");
        using var dashboard = new DashboardProcess(home);
        var screenshot = Path.Combine(TestContext.CurrentContext.WorkDirectory, "dashboard.png");
        File.Delete(screenshot);

        var start = new ProcessStartInfo("node", [Path.Combine(browserDir, "dashboard.mjs")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = browserDir,
            Environment =
            {
                ["DASHBOARD_URL"] = dashboard.Url,
                ["DASHBOARD_TOKEN"] = dashboard.Token,
                ["QUEUECTL_BIN"] = QueueCtlProcess.Executable,
                ["QUEUECTL_HOME"] = home.Root,
                ["FLAG_FILE"] = flag,
                ["SCREENSHOT"] = screenshot,
            },
        };
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        if (!node.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            node.Kill(entireProcessTree: true);
            Assert.Fail("The browser test did not finish within 2 minutes.");
        }
        TestContext.Out.WriteLine(stdout.Result);

        Assert.That(node.ExitCode, Is.EqualTo(0), stdout.Result + stderr.Result);
        Assert.That(stdout.Result, Does.Contain("without the token: the page asks for the link").And.Contain("counts changed live").And.Contain("retry moved the dead job"));
        Assert.That(new FileInfo(screenshot).Length, Is.GreaterThan(10_000), "a real screenshot");
        Assert.That(home.ReadJob("completed", "flaky").GetProperty("history").GetArrayLength(), Is.EqualTo(2));
        TestContext.AddTestAttachment(screenshot, "the dashboard");
    }
}
