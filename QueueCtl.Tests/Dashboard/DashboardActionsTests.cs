using System.Net;
using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Dashboard;

/// <summary>
/// The dashboard's actions: cancel, retry of any finished job, remove, retry all dead of one
/// queue; each answers with a message; each refused without the token, from a foreign Host or
/// Origin, or as a cross-site form, and a refused request changes nothing.
/// </summary>
[Category("EndToEnd")]
public class DashboardActionsTests
{
    // One home and one dashboard for the refusal cases (starting them is most of each case's
    // time): each case acts on jobs of its own (c1, r1, d1, queue e), made before any case runs.
    // The tests that run a worker make their own.
    private TempHome _refusals = null!;
    private DashboardProcess _refusalsDashboard = null!;

    [OneTimeSetUp]
    public void StartTheSharedDashboard()
    {
        _refusals = new TempHome(inProcess: false);
        _refusals.Ok("enqueue", "--command", "true", "--id", "c1");
        _refusals.Ok("enqueue", "--command", "true", "--id", "r1");
        _refusals.Ok("enqueue", "--command", "true", "--id", "d1");
        _refusals.Ok("enqueue", "--command", "true", "--id", "e1", "--queue", "e");
        _refusals.Ok("cancel", "d1", "e1");
        _refusalsDashboard = new DashboardProcess(_refusals);
    }

    [OneTimeTearDown]
    public void StopTheSharedDashboard()
    {
        _refusalsDashboard?.Dispose();
        _refusals?.Dispose();
    }

    private static (HttpStatusCode Status, JsonElement Body) Post(HttpClient http, string path, string? origin = null, string? host = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (origin is not null)
        {
            request.Headers.TryAddWithoutValidation("Origin", origin);
        }
        if (host is not null)
        {
            request.Headers.Host = host;
        }
        var response = http.SendAsync(request).Result;
        var text = response.Content.ReadAsStringAsync().Result;
        return (response.StatusCode, text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    [Test]
    public void CancelRetryRemove_AndRetryDeadOfOneQueue()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "true", "--id", "done");
        home.StartWorkers(1);
        home.WaitForState("done", "completed", TimeSpan.FromSeconds(30));
        home.Ok("worker", "stop");
        home.Ok("enqueue", "--command", "true", "--id", "p1");
        home.Ok("enqueue", "--command", "true", "--id", "p2");
        home.Ok("enqueue", "--command", "true", "--id", "a1", "--queue", "a");
        home.Ok("enqueue", "--command", "true", "--id", "b1", "--queue", "b");
        home.Ok("cancel", "a1", "b1");
        using var dashboard = new DashboardProcess(home);
        var http = dashboard.Client;

        var cancel = Post(http, "/api/jobs/p1/cancel");
        Assert.That(cancel.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(cancel.Body.GetProperty("message").GetString(), Is.EqualTo("p1 cancelled: dead"));
        Assert.That(home.ReadJob("dead", "p1").GetProperty("last_error").GetString(), Does.Contain("queuectl dashboard"));
        Assert.That(Post(http, "/api/jobs/p1/cancel").Status, Is.EqualTo(HttpStatusCode.Conflict), "already finished");

        var retryCompleted = Post(http, "/api/jobs/done/retry");
        Assert.That(retryCompleted.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(home.Ids("pending"), Does.Contain("done"), "any finished job, not only dead ones");
        Assert.That(home.ReadJob("pending", "done").GetProperty("history").GetArrayLength(), Is.EqualTo(1), "history kept");
        Assert.That(Post(http, "/api/jobs/p2/retry").Status, Is.EqualTo(HttpStatusCode.NotFound), "a pending job is not finished");

        var remove = Post(http, "/api/jobs/p2/remove");
        Assert.That(remove.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(remove.Body.GetProperty("message").GetString(), Is.EqualTo("p2 removed"));
        Assert.That(home.Ids("pending"), Does.Not.Contain("p2"));
        Assert.That(Post(http, "/api/jobs/p2/remove").Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(Post(http, "/api/jobs/..%2Fx/remove").Status, Is.EqualTo(HttpStatusCode.BadRequest).Or.EqualTo(HttpStatusCode.NotFound));

        var retryA = Post(http, "/api/dlq/retry-all?queue=a");
        Assert.That(retryA.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(retryA.Body.GetProperty("retried").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "a1" }));
        Assert.That(retryA.Body.GetProperty("message").GetString(), Is.EqualTo("1 dead job of queue a retried"));
        Assert.That(home.Ids("dead"), Is.EquivalentTo(new[] { "b1", "p1" }), "queue b and default untouched");
        Assert.That(Post(http, "/api/dlq/retry-all?queue=bad%20q").Status, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public void Cancel_OfARunningJob_IsRequested_AndItsWorkerEndsItDead()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "sleep 60", "--id", "long");
        home.StartWorkers(1);
        try
        {
            Eventually.True(() => Directory.EnumerateFiles(home.PathOf("processing"), "long.json", SearchOption.AllDirectories).Any(),
                TimeSpan.FromSeconds(30), "long is running");
            using var dashboard = new DashboardProcess(home);

            var cancel = Post(dashboard.Client, "/api/jobs/long/cancel");

            Assert.That(cancel.Status, Is.EqualTo(HttpStatusCode.Accepted).Or.EqualTo(HttpStatusCode.OK));
            Eventually.True(() => home.Ids("dead").Contains("long"), TimeSpan.FromSeconds(30), "the worker ended it as dead");
            Assert.That(home.ReadJob("dead", "long").GetProperty("last_error").GetString(), Does.Contain("cancelled"));
        }
        finally
        {
            home.Ok("worker", "stop");
        }
    }

    [TestCase("/api/jobs/c1/cancel")]
    [TestCase("/api/jobs/r1/remove")]
    [TestCase("/api/jobs/d1/retry")]
    [TestCase("/api/dlq/retry-all?queue=e")]
    public void EveryAction_IsRefused_WithoutTheToken_FromAForeignHostOrOrigin_OrAsAForm(string path)
    {
        var home = _refusals;
        var dashboard = _refusalsDashboard;
        var port = new Uri(dashboard.Url).Port;
        var before = home.Tree();

        Assert.That(Post(dashboard.Anonymous, path).Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(Post(dashboard.Client, path, origin: "http://evil.example").Status, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(Post(dashboard.Client, path, origin: "null").Status, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That((int)Post(dashboard.Client, path, host: $"evil.example:{port}").Status, Is.EqualTo(421));
        Assert.That((int)Post(dashboard.Client, path, host: $"127.0.0.1.nip.io:{port}").Status, Is.EqualTo(421));
        var form = dashboard.Anonymous.PostAsync(path, new FormUrlEncodedContent([new("token", dashboard.Token)])).Result;
        Assert.That(form.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "a token in a form body does not count");
        Assert.That(dashboard.Anonymous.PostAsync(path + (path.Contains('?') ? "&" : "?") + "token=" + dashboard.Token, null).Result.StatusCode,
            Is.EqualTo(HttpStatusCode.Unauthorized), "nor in the query string");
        Assert.That(home.Tree(), Is.EqualTo(before), "a refused request changes nothing");

        Assert.That(Post(dashboard.Client, path, origin: $"http://127.0.0.1:{port}").Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(home.Tree(), Is.Not.EqualTo(before), "the same request from the page's origin, with the token, acts");
    }
}
