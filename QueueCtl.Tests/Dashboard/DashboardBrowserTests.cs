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
        var browserDir = BrowserScript.FolderOrIgnore();

        using var home = new TempHome(inProcess: false);
        var flag = Path.Combine(home.Parent, "flag");
        home.Ok("enqueue", "--command", "true", "--id", "quick");
        home.Ok("enqueue", "--command", $"test -f '{flag}' && echo second try", "--id", "flaky", "--max-retries", "0");
        using var dashboard = new DashboardProcess(home);
        var screenshot = Path.Combine(TestContext.CurrentContext.WorkDirectory, "dashboard.png");
        File.Delete(screenshot);

        var run = BrowserScript.Run(browserDir, "dashboard.mjs", new Dictionary<string, string>
        {
            ["DASHBOARD_URL"] = dashboard.Url,
            ["DASHBOARD_TOKEN"] = dashboard.Token,
            ["QUEUECTL_BIN"] = QueueCtlProcess.Executable,
            ["QUEUECTL_HOME"] = home.Root,
            ["FLAG_FILE"] = flag,
            ["SCREENSHOT"] = screenshot,
        });

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stdout + run.Stderr);
        Assert.That(run.Stdout, Does.Contain("without the token: the page asks for the link").And.Contain("counts changed live").And.Contain("retry moved the dead job"));
        Assert.That(new FileInfo(screenshot).Length, Is.GreaterThan(10_000), "a real screenshot");
        Assert.That(home.ReadJob("completed", "flaky").GetProperty("history").GetArrayLength(), Is.EqualTo(2));
        TestContext.AddTestAttachment(screenshot, "the dashboard");
    }
}
