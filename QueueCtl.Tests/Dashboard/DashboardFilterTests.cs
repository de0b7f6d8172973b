using System.Net;
using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Dashboard;

/// <summary>/api/jobs takes the filters of `list`: queue, label (repeatable), grep, newest.</summary>
[Category("EndToEnd")]
public class DashboardFilterTests
{
    private static List<string> Ids(HttpClient http, string query)
    {
        using var document = JsonDocument.Parse(http.GetStringAsync("/api/jobs?state=pending&" + query).Result);
        return document.RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetString()!).ToList();
    }

    [Test]
    public void ApiJobs_FiltersLikeList()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", """{"id":"j1","command":"echo Backup","queue":"a","labels":["nightly","db"],"created_at":"2025-01-01T00:00:01Z"}""");
        home.Ok("enqueue", """{"id":"j2","command":"echo report","queue":"b","labels":["nightly"],"created_at":"2025-01-01T00:00:02Z"}""");
        home.Ok("enqueue", """{"id":"j3","command":"echo backup","created_at":"2025-01-01T00:00:03Z"}""");
        using var dashboard = new DashboardProcess(home);
        var http = dashboard.Client;

        Assert.That(Ids(http, "queue=a"), Is.EqualTo(new[] { "j1" }));
        Assert.That(Ids(http, "queue=default"), Is.EqualTo(new[] { "j3" }));
        Assert.That(Ids(http, "label=nightly"), Is.EqualTo(new[] { "j1", "j2" }));
        Assert.That(Ids(http, "label=nightly&label=db"), Is.EqualTo(new[] { "j1" }));
        Assert.That(Ids(http, "grep=BACKUP"), Is.EqualTo(new[] { "j1", "j3" }));
        Assert.That(Ids(http, "newest=1&limit=1"), Is.EqualTo(new[] { "j3" }));
        using var page = JsonDocument.Parse(http.GetStringAsync("/api/jobs?state=pending&queue=a").Result);
        var job = page.RootElement.GetProperty("jobs")[0];
        Assert.That(job.GetProperty("queue").GetString(), Is.EqualTo("a"));
        Assert.That(job.GetProperty("labels").GetArrayLength(), Is.EqualTo(2));
        Assert.That(http.GetAsync("/api/jobs?state=pending&queue=bad%20name").Result.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }
}
