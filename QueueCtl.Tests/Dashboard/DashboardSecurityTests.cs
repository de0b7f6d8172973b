using System.Net;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Dashboard;

/// <summary>
/// Hostile requests to a real dashboard: a DNS-rebinding Host, reads of job data without the
/// token, a retry without it, from another origin, or as a cross-site form post.
/// </summary>
[Category("EndToEnd")]
public class DashboardSecurityTests
{
    private const string Secret = "s3cret-api-key-71f";

    // One home and one dashboard for the tests that change nothing; the retry test makes its own.
    private TempHome _shared = null!;
    private DashboardProcess _sharedDashboard = null!;

    [OneTimeSetUp]
    public void StartTheSharedDashboard()
    {
        _shared = HomeWithADeadJob();
        _sharedDashboard = new DashboardProcess(_shared);
    }

    [OneTimeTearDown]
    public void StopTheSharedDashboard()
    {
        _sharedDashboard.Dispose();
        _shared.Dispose();
    }

    /// <summary>A dead job `gone` (its env holds a secret) and a pending job `waiting` with the same secret.</summary>
    private static TempHome HomeWithADeadJob()
    {
        var home = new TempHome(inProcess: false);
        home.Ok("enqueue", $$$"""{"id":"gone","command":"echo printed-$API_KEY; exit 3","max_retries":0,"env":{"API_KEY":"{{{Secret}}}"}}""");
        home.StartWorkers(1);
        Eventually.True(() => home.Ids("dead").Count == 1, TimeSpan.FromSeconds(30), "the job went dead");
        home.Ok("worker", "stop");
        home.Ok("enqueue", $$$"""{"id":"waiting","command":"true","env":{"API_KEY":"{{{Secret}}}"}}""");
        return home;
    }

    private static HttpResponseMessage Send(HttpClient http, HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, path);
        foreach (var (name, value) in headers)
        {
            if (name == "Host")
            {
                request.Headers.Host = value;
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }
        return http.SendAsync(request).Result;
    }

    private static string Body(HttpResponseMessage response) => response.Content.ReadAsStringAsync().Result;

    [Test]
    public void AForeignHost_IsRefusedOnEveryRoute_EvenWithTheToken()
    {
        var home = _shared;
        var dashboard = _sharedDashboard;

        foreach (var path in new[] { "/", "/metrics", "/api/status", "/api/jobs?state=dead", "/api/jobs/gone", "/api/jobs/gone/log", "/api/workers", "/nope" })
        {
            var response = Send(dashboard.Client, HttpMethod.Get, path, ("Host", "evil.example"));
            var body = Body(response);

            Assert.That((int)response.StatusCode, Is.EqualTo(421), path);
            Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/plain"), path);
            Assert.That(body.TrimEnd('\n'), Does.Not.Contain('\n').And.Contain("127.0.0.1"), "one line: " + path);
            Assert.That(body, Does.Not.Contain(Secret).And.Not.Contain("queuectl_jobs").And.Not.Contain("<title>"), path);
        }
        var retry = Send(dashboard.Client, HttpMethod.Post, "/api/jobs/gone/retry", ("Host", $"evil.example:{new Uri(dashboard.Url).Port}"));
        Assert.That((int)retry.StatusCode, Is.EqualTo(421));
        Assert.That(home.Ids("dead"), Is.EqualTo(new[] { "gone" }), "a refused retry changes nothing");
    }

    [TestCase("127.0.0.1", true)]
    [TestCase("127.0.0.1:{port}", true)]
    [TestCase("localhost:{port}", true)]
    [TestCase("LocalHost", true)]
    [TestCase("[::1]:{port}", true)]
    [TestCase("evil.example:{port}", false)]
    [TestCase("localhost.evil.example:{port}", false)]
    [TestCase("127.0.0.1.nip.io:{port}", false)]
    [TestCase("2130706433:{port}", false)]
    [TestCase("192.168.1.20:{port}", false)]
    public void OnlyLoopbackHostValues_AreServed(string host, bool served)
    {
        var dashboard = _sharedDashboard;
        var value = host.Replace("{port}", new Uri(dashboard.Url).Port.ToString(), StringComparison.Ordinal);

        var response = Send(dashboard.Client, HttpMethod.Get, "/metrics", ("Host", value));

        Assert.That((int)response.StatusCode, Is.EqualTo(served ? 200 : 421), value);
    }

    [Test]
    public void JobData_NeedsTheToken_WhileMetricsAndThePageDoNot()
    {
        var home = _shared;
        var dashboard = _sharedDashboard;

        foreach (var path in new[] { "/api/jobs/gone", "/api/jobs/waiting", "/api/jobs/gone/log", "/api/jobs?state=pending", "/api/jobs?state=dead", "/api/workers", "/api/status" })
        {
            var without = dashboard.Anonymous.GetAsync(path).Result;
            var wrong = Send(dashboard.Anonymous, HttpMethod.Get, path, ("X-Queuectl-Token", new string('f', 32)));
            var inQuery = dashboard.Anonymous.GetAsync(path + (path.Contains('?') ? "&" : "?") + "token=" + dashboard.Token).Result;
            var with = dashboard.Client.GetAsync(path).Result;

            Assert.That(without.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), path);
            Assert.That(Body(without), Does.Not.Contain(Secret).And.Not.Contain("echo").And.Contain("token"), path);
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "wrong token: " + path);
            Assert.That(inQuery.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the token is taken from a header only: " + path);
            Assert.That(with.StatusCode, Is.EqualTo(HttpStatusCode.OK), path);
        }
        Assert.That(Body(dashboard.Client.GetAsync("/api/jobs/gone").Result), Does.Contain(Secret), "the job file, env included, with the token");
        Assert.That(Body(dashboard.Client.GetAsync("/api/jobs/gone/log").Result), Does.Contain("printed-" + Secret));
        var bearer = Send(dashboard.Anonymous, HttpMethod.Get, "/api/jobs/waiting", ("Authorization", "Bearer " + dashboard.Token));
        Assert.That(bearer.StatusCode, Is.EqualTo(HttpStatusCode.OK), "Authorization: Bearer works too");

        var metrics = dashboard.Anonymous.GetAsync("/metrics").Result;
        var page = dashboard.Anonymous.GetAsync("/").Result;
        Assert.That(metrics.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(Body(metrics), Does.Contain("queuectl_jobs{state=\"dead\"} 1").And.Not.Contain(Secret).And.Not.Contain("printed-"), "counts, no job data");
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(Body(page), Does.Contain("<title>queuectl</title>").And.Not.Contain(dashboard.Token).And.Not.Contain(Secret));
        Assert.That(page.Headers.GetValues("X-Frame-Options"), Is.EqualTo(new[] { "DENY" }), "not framed by another site");
    }

    [Test]
    public void Retry_FromAnotherOrigin_OrAsACrossSiteForm_IsRefused_AndFromThePageItWorks()
    {
        using var home = HomeWithADeadJob();
        using var dashboard = new DashboardProcess(home);
        var port = new Uri(dashboard.Url).Port;

        var foreign = Send(dashboard.Client, HttpMethod.Post, "/api/jobs/gone/retry", ("Origin", "http://evil.example"));
        var nullOrigin = Send(dashboard.Client, HttpMethod.Post, "/api/dlq/retry-all", ("Origin", "null"));
        var otherPort = Send(dashboard.Client, HttpMethod.Post, "/api/jobs/gone/retry", ("Origin", $"http://127.0.0.1:{port + 1}"));
        var foreignRead = Send(dashboard.Client, HttpMethod.Get, "/api/jobs/gone", ("Origin", "http://evil.example"));
        // What a cross-site <form method=post> can send: a form body and a simple content type, no custom header.
        var form = new HttpRequestMessage(HttpMethod.Post, "/api/jobs/gone/retry")
        {
            Content = new FormUrlEncodedContent([new("token", dashboard.Token)]),
            Headers = { { "Origin", "http://evil.example" } },
        };
        var formResponse = dashboard.Anonymous.SendAsync(form).Result;
        var formNoOrigin = dashboard.Anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/jobs/gone/retry")
        {
            Content = new FormUrlEncodedContent([new("token", dashboard.Token)]),
        }).Result;
        var preflight = Send(dashboard.Anonymous, HttpMethod.Options, "/api/jobs/gone/retry",
            ("Origin", "http://evil.example"), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "x-queuectl-token"));

        Assert.That(foreign.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), Body(foreign));
        Assert.That(nullOrigin.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(otherPort.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(foreignRead.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(Body(foreignRead), Does.Not.Contain(Secret));
        Assert.That((int)formResponse.StatusCode, Is.AnyOf(401, 403));
        Assert.That(formNoOrigin.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "a token in a form body does not count");
        Assert.That(preflight.IsSuccessStatusCode, Is.False);
        Assert.That(preflight.Headers.Contains("Access-Control-Allow-Origin"), Is.False, "no CORS: a browser never sends the real request");
        Assert.That(home.Ids("dead"), Is.EqualTo(new[] { "gone" }), "nothing changed");

        var samePage = Send(dashboard.Client, HttpMethod.Post, "/api/jobs/gone/retry", ("Origin", $"http://127.0.0.1:{port}"));

        Assert.That(samePage.StatusCode, Is.EqualTo(HttpStatusCode.OK), Body(samePage));
        Assert.That(home.Ids("dead"), Is.Empty);
        Assert.That(home.Ids("pending"), Does.Contain("gone"));
    }
}
