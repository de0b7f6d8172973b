using System.Net;
using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Dashboard;

/// <summary>The dashboard's JSON API, /metrics and its safety rules, over real HTTP.</summary>
[Category("EndToEnd")]
public class DashboardTests
{
    // One home and one dashboard for the tests that only read (starting them, with a worker run to
    // make the dead and completed jobs, is most of each test's time); a test that changes the home
    // makes its own.
    private TempHome _shared = null!;
    private DashboardProcess _sharedDashboard = null!;

    [OneTimeSetUp]
    public void StartTheSharedDashboard()
    {
        _shared = HomeWithJobs();
        _sharedDashboard = new DashboardProcess(_shared);
    }

    [OneTimeTearDown]
    public void StopTheSharedDashboard()
    {
        _sharedDashboard.Dispose();
        _shared.Dispose();
    }

    private static JsonElement Json(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(response.Content.ReadAsStringAsync().Result);
        return document.RootElement.Clone();
    }

    private static TempHome HomeWithJobs()
    {
        var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "echo shown; exit 3", "--id", "gone", "--max-retries", "0");
        home.Ok("enqueue", "--command", "true", "--id", "ok");
        home.StartWorkers(1);
        Eventually.True(() => home.Ids("dead").Count == 1 && home.Ids("completed").Count == 1, TimeSpan.FromSeconds(30), "one dead, one completed");
        home.Ok("worker", "stop");
        for (var i = 0; i < 30; i++)
        {
            home.Ok("enqueue", """{"id":"p{{i:00}}","command":"true","created_at":"2025-01-01T00:00:{{i:00}}Z"}""".Replace("{{i:00}}", i.ToString("00")));
        }
        home.Ok("enqueue", "--command", "true", "--id", "later", "--delay", "1h");
        return home;
    }

    [Test]
    public void Api_ServesStatusJobsPagesDetailsLogsAndWorkers()
    {
        var home = _shared;
        var dashboard = _sharedDashboard;
        var http = dashboard.Client;

        var status = Json(http.GetAsync("/api/status").Result);
        Assert.That(status.GetProperty("pending").GetInt32(), Is.EqualTo(31));
        Assert.That(status.GetProperty("scheduled").GetInt32(), Is.EqualTo(1));
        Assert.That(status.GetProperty("dead").GetInt32(), Is.EqualTo(1));
        Assert.That(status.GetProperty("next_run").GetString(), Does.EndWith("Z"));

        var page2 = Json(http.GetAsync("/api/jobs?state=pending&offset=10&limit=10").Result);
        Assert.That(page2.GetProperty("total").GetInt32(), Is.EqualTo(31));
        Assert.That(page2.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetString()),
            Is.EqualTo(Enumerable.Range(10, 10).Select(i => $"p{i:00}")), "oldest first, paged");

        var detail = Json(http.GetAsync("/api/jobs/gone").Result);
        Assert.That(detail.GetProperty("state").GetString(), Is.EqualTo("dead"));
        Assert.That(detail.GetProperty("file").GetProperty("exit_code").GetInt32(), Is.EqualTo(3));
        Assert.That(detail.GetProperty("log_attempts").EnumerateArray().Select(a => a.GetInt32()), Is.EqualTo(new[] { 1 }));
        Assert.That(http.GetStringAsync("/api/jobs/gone/log").Result, Is.EqualTo("shown\n"));
        Assert.That(Json(http.GetAsync("/api/workers").Result).GetArrayLength(), Is.EqualTo(0));
        var html = http.GetStringAsync("/").Result;
        Assert.That(html, Does.Contain("<title>queuectl</title>"));
        Assert.That(http.GetAsync("/api/jobs?state=bogus").Result.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(http.GetAsync("/api/jobs/nope").Result.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public void Metrics_AreInPrometheusTextFormat_DerivedFromTheFiles()
    {
        var home = _shared;
        var dashboard = _sharedDashboard;

        var response = dashboard.Client.GetAsync("/metrics").Result;
        var text = response.Content.ReadAsStringAsync().Result;

        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/plain"));
        Assert.That(text, Does.Contain("# TYPE queuectl_jobs gauge\n"));
        Assert.That(text, Does.Contain("queuectl_jobs{state=\"ready\"} 30\n"));
        Assert.That(text, Does.Contain("queuectl_jobs{state=\"scheduled\"} 1\n"));
        Assert.That(text, Does.Contain("queuectl_jobs{state=\"dead\"} 1\n"));
        Assert.That(text, Does.Contain("queuectl_jobs_completed_total{queue=\"default\"} 1\n"));
        Assert.That(text, Does.Contain("queuectl_jobs_dead_total{queue=\"default\"} 1\n"));
        Assert.That(text, Does.Contain("queuectl_attempts_failed_total{queue=\"default\"} 1\n"));
        Assert.That(text, Does.Contain("queuectl_attempt_duration_seconds_count 2\n"));
        Assert.That(text, Does.Match(@"queuectl_oldest_pending_age_seconds \d+(\.\d+)?\n"));
        Assert.That(text, Does.Contain("queuectl_workers{state=\"idle\"} 0\n"));
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')))
        {
            Assert.That(line, Does.Match(@"^[a-z_]+(\{[a-z_]+=""[^""]*""\})? (-?\d+(\.\d+)?(E[-+]?\d+)?|NaN)$"), line);
        }
    }

    [Test]
    public void Retry_NeedsTheToken_AndMovesTheDeadJobToPending()
    {
        using var home = HomeWithJobs();
        using var dashboard = new DashboardProcess(home);
        var http = dashboard.Client;

        var without = dashboard.Anonymous.PostAsync("/api/jobs/gone/retry", null).Result;
        var wrong = new HttpRequestMessage(HttpMethod.Post, "/api/jobs/gone/retry") { Headers = { { "X-Queuectl-Token", new string('0', 32) } } };
        Assert.That(without.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(dashboard.Anonymous.SendAsync(wrong).Result.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(home.Ids("dead"), Is.EqualTo(new[] { "gone" }), "nothing changed without the token");

        var right = new HttpRequestMessage(HttpMethod.Post, "/api/jobs/gone/retry") { Headers = { { "X-Queuectl-Token", dashboard.Token } } };
        var response = dashboard.Anonymous.SendAsync(right).Result;

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(home.Ids("dead"), Is.Empty);
        Assert.That(home.ReadJob("pending", "gone").GetProperty("attempts").GetInt32(), Is.EqualTo(0));
        var again = new HttpRequestMessage(HttpMethod.Post, "/api/jobs/gone/retry") { Headers = { { "Authorization", "Bearer " + dashboard.Token } } };
        Assert.That(dashboard.Anonymous.SendAsync(again).Result.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "no longer dead");
        Assert.That(http.PostAsync("/api/status", null).Result.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
    }

    [TestCase("/api/jobs/..%2F..%2Fconfig")]
    [TestCase("/api/jobs/%2E%2E")]
    [TestCase("/api/jobs/..")]
    [TestCase("/api/jobs/.hidden")]
    [TestCase("/api/jobs/a%2Fb/log")]
    [TestCase("/api/jobs/..%2Fworkers%2Fx/log")]
    public void Ids_CannotReachOutsideTheHome(string path)
    {
        var home = _shared;
        File.WriteAllText(Path.Combine(home.Parent, "secret.json"), """{"secret":true}""");
        var dashboard = _sharedDashboard;

        var response = dashboard.Client.GetAsync(path).Result;
        var body = response.Content.ReadAsStringAsync().Result;

        Assert.That((int)response.StatusCode, Is.AnyOf(400, 404), body);
        Assert.That(body, Does.Not.Contain("secret").And.Not.Contain("max_retries"));
    }

    [Test]
    public void Dashboard_ListensOnLoopbackByDefault()
    {
        var dashboard = _sharedDashboard;

        Assert.That(dashboard.Url, Does.StartWith("http://127.0.0.1:"));
        Assert.That(dashboard.Token, Has.Length.EqualTo(32));
    }
}
