using System.Globalization;
using System.Text;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Dashboard;

/// <summary>
/// Headless Chromium on the dashboard over time (QueueCtl.Tests/Browser/dashboard-over-time.mjs):
/// charts from an hour of seeded stats/ lines, light and dark, pause from the queues table, search,
/// cancel, no polling while hidden, one request in flight with back-off; and the README screenshot,
/// written to QueueCtl.Tests/Browser/dashboard.png.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable] // a real Chromium: CPU-bound
public class DashboardBrowserOverTimeTests
{
    [Test]
    public void Browser_DrawsChartsPausesSearchesCancels_AndPollsPolitely()
    {
        var browserDir = BrowserScript.FolderOrIgnore();

        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "queue.mail.concurrency", "4");
        home.Ok("enqueue", """{"id":"report-1","command":"./make-report --daily","labels":["nightly"]}""");
        home.Ok("enqueue", """{"id":"mail-1","command":"send-mail --to ops","queue":"mail"}""");
        home.Ok("enqueue", """{"id":"mail-2","command":"send-mail --to dev","queue":"mail"}""");
        home.Ok("enqueue", "--command", "backup /srv", "--id", "backup-1", "--delay", "2h");
        SeedAnHourOfHistory(home);
        using var dashboard = new DashboardProcess(home);
        var screenshot = Path.Combine(browserDir, "dashboard.png");
        var fresh = Path.Combine(TestContext.CurrentContext.WorkDirectory, "dashboard-over-time.png");

        var run = BrowserScript.Run(browserDir, "dashboard-over-time.mjs", new Dictionary<string, string>
        {
            ["DASHBOARD_URL"] = dashboard.Url,
            ["DASHBOARD_TOKEN"] = dashboard.Token,
            ["SCREENSHOT"] = fresh,
        });

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stdout + run.Stderr);
        Assert.That(run.Stdout, Does.Contain("charts drawn").And.Contain("queue paused from the page").And.Contain("search narrowed the list")
            .And.Contain("cancel confirmed and reported").And.Contain("no polling while hidden").And.Contain("one request in flight"));
        Assert.That(File.Exists(home.PathOf("paused.d", "mail")), Is.True, "the pause button turned the switch on");
        Assert.That(home.Ids("dead"), Is.EqualTo(new[] { "report-1" }), "the cancel button cancelled");
        Assert.That(new FileInfo(fresh).Length, Is.GreaterThan(10_000), "a real screenshot");
        File.Copy(fresh, screenshot, overwrite: true); // README shows it
        TestContext.AddTestAttachment(screenshot, "the dashboard over time");
    }

    /// <summary>What two workers would have written in the last hour: finishes per minute, a failure now and then, depth samples.</summary>
    private static void SeedAnHourOfHistory(TempHome home)
    {
        var now = DateTime.UtcNow;
        var minutes = new StringBuilder();
        var depth = new StringBuilder();
        for (var i = 59; i >= 1; i--)
        {
            var t = now.AddMinutes(-i).ToString("yyyy-MM-ddTHH:mm'Z'", CultureInfo.InvariantCulture);
            var wave = (int)(20 + 15 * Math.Sin(i / 6.0));
            minutes.Append(CultureInfo.InvariantCulture, $"{t} queue=default completed={wave} failed={(i % 7 == 0 ? 3 : 0)} dead={(i % 19 == 0 ? 1 : 0)}\n");
            minutes.Append(CultureInfo.InvariantCulture, $"{t} queue=mail completed={wave / 3} failed={(i % 11 == 0 ? 2 : 0)} dead=0\n");
            depth.Append(CultureInfo.InvariantCulture, $"{t} ready={(int)(40 + 35 * Math.Cos(i / 8.0))} oldest_ready_s={(int)(30 + 25 * Math.Cos(i / 8.0))}\n");
        }
        Directory.CreateDirectory(home.PathOf("stats"));
        File.WriteAllText(home.PathOf("stats", "demo-worker.minutes"), minutes.ToString());
        File.WriteAllText(home.PathOf("stats", "demo-worker.depth"), depth.ToString());
    }
}
