using System.Net;
using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Dashboard;

/// <summary>/api/queues: per queue counts, limit and slots held, pause, oldest ready age, throughput; pause/resume behind the token.</summary>
[Category("EndToEnd")]
public class DashboardQueuesTests
{
    // One home and one dashboard for both tests (starting them is most of each test's time): each
    // test makes what it needs in a queue of its own (mail, reports); the dashboard reads the
    // config and the files at each request.
    private TempHome _shared = null!;
    private DashboardProcess _sharedDashboard = null!;

    [OneTimeSetUp]
    public void StartTheSharedDashboard()
    {
        _shared = new TempHome(inProcess: false);
        _sharedDashboard = new DashboardProcess(_shared);
    }

    [OneTimeTearDown]
    public void StopTheSharedDashboard()
    {
        _sharedDashboard?.Dispose();
        _shared?.Dispose();
    }

    /// <summary>The queues paused.d holds, in order (none when it does not exist).</summary>
    private static List<string> Paused(TempHome home) =>
        Directory.Exists(home.PathOf("paused.d"))
            ? Directory.EnumerateFiles(home.PathOf("paused.d")).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToList()
            : [];

    private static JsonElement Queue(HttpClient http, string name)
    {
        var body = http.GetStringAsync("/api/queues").Result;
        return JsonDocument.Parse(body).RootElement.GetProperty("queues").EnumerateArray().Single(q => q.GetProperty("name").GetString() == name).Clone();
    }

    private static HttpResponseMessage Post(HttpClient http, string path, string? origin = null, string? host = null)
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
        return http.SendAsync(request).Result;
    }

    [Test]
    public void Queues_ShowCountsLimitPauseAgeAndThroughput()
    {
        var home = _shared;
        home.Ok("config", "set", "queue.mail.concurrency", "2");
        home.Ok("enqueue", """{"id":"m1","command":"true","queue":"mail","created_at":"2025-01-01T00:00:00Z"}""");
        home.Ok("enqueue", """{"id":"m2","command":"true","queue":"mail"}""");
        home.Ok("enqueue", "--command", "true", "--id", "later", "--queue", "mail", "--delay", "1h");
        var minute = DateTime.UtcNow.AddMinutes(-2).ToString("yyyy-MM-ddTHH:mm'Z'", System.Globalization.CultureInfo.InvariantCulture);
        Directory.CreateDirectory(home.PathOf("stats"));
        File.WriteAllText(home.PathOf("stats", "w.minutes"), $"{minute} queue=mail completed=5 failed=1 dead=1\n");
        File.WriteAllText(home.PathOf("stats", "w.json"), """{"worker":"w","queues":{"mail":{"completed":50,"failed":3,"dead":2}}}""");
        File.SetLastWriteTimeUtc(home.PathOf("pending", "m1.json"), DateTime.UtcNow.AddMinutes(-10));
        var dashboard = _sharedDashboard;

        var mail = Queue(dashboard.Client, "mail");
        Assert.That(mail.GetProperty("ready").GetInt32(), Is.EqualTo(2));
        Assert.That(mail.GetProperty("scheduled").GetInt32(), Is.EqualTo(1));
        Assert.That(mail.GetProperty("concurrency").GetInt32(), Is.EqualTo(2));
        Assert.That(mail.GetProperty("slots_held").GetInt32(), Is.EqualTo(0));
        Assert.That(mail.GetProperty("paused").GetBoolean(), Is.False);
        Assert.That(mail.GetProperty("oldest_ready_seconds").GetDouble(), Is.InRange(590, 700), "m1's file was made 10 minutes old");
        Assert.That(mail.GetProperty("completed_total").GetInt64(), Is.EqualTo(50));
        Assert.That(mail.GetProperty("completed_last_hour").GetInt64(), Is.EqualTo(5));
        Assert.That(mail.GetProperty("failed_last_hour").GetInt64(), Is.EqualTo(2), "retried and dead");
        var idle = Queue(dashboard.Client, "default");
        Assert.That(idle.GetProperty("concurrency").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(idle.GetProperty("oldest_ready_seconds").ValueKind, Is.EqualTo(JsonValueKind.Null));

        var paused = Post(dashboard.Client, "/api/queues/mail/pause");
        Assert.That(paused.StatusCode, Is.EqualTo(HttpStatusCode.OK), paused.Content.ReadAsStringAsync().Result);
        Assert.That(File.Exists(home.PathOf("paused.d", "mail")), Is.True, "the same switch as `queuectl pause --queue mail`");
        Assert.That(Queue(dashboard.Client, "mail").GetProperty("paused").GetBoolean(), Is.True);
        Assert.That(home.Ok("status"), Does.Contain("mail"));

        var resumed = Post(dashboard.Client, "/api/queues/mail/resume");
        Assert.That(resumed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(File.Exists(home.PathOf("paused.d", "mail")), Is.False);
        Assert.That(Post(dashboard.Client, "/api/queues/bad%20name/pause").StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(dashboard.Client.GetAsync("/api/queues/mail/pause").Result.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
    }

    [Test]
    public void PauseAndResume_NeedTheToken_ALoopbackHost_AndNoForeignOrigin()
    {
        var home = _shared;
        var dashboard = _sharedDashboard;
        var port = new Uri(dashboard.Url).Port;
        var pausedBefore = Paused(home);
        Assert.That(pausedBefore, Does.Not.Contain("reports"));

        var noToken = Post(dashboard.Anonymous, "/api/queues/reports/pause");
        var foreignOrigin = Post(dashboard.Client, "/api/queues/reports/pause", origin: "http://evil.example");
        var foreignHost = Post(dashboard.Client, "/api/queues/reports/pause", host: $"evil.example:{port}");
        var form = dashboard.Anonymous.PostAsync("/api/queues/reports/pause", new FormUrlEncodedContent([new("token", dashboard.Token)])).Result;

        Assert.That(noToken.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(foreignOrigin.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That((int)foreignHost.StatusCode, Is.EqualTo(421));
        Assert.That(form.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "a token in a form body does not count");
        Assert.That(Paused(home), Is.EqualTo(pausedBefore), "nothing paused");

        Assert.That(Post(dashboard.Client, "/api/queues/reports/pause", origin: $"http://127.0.0.1:{port}").StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(File.Exists(home.PathOf("paused.d", "reports")), Is.True);
    }
}
