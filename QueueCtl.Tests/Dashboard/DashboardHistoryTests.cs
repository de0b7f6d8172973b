using System.Globalization;
using System.Net;
using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Dashboard;

/// <summary>
/// /api/history: finishes per minute (last hour) and per hour (last days) from the workers'
/// stats/*.minutes lines, depth and oldest-ready age from stats/*.depth samples; and a worker
/// that stops leaves a depth sample behind (visible with cat).
/// </summary>
[Category("EndToEnd")]
public class DashboardHistoryTests
{
    private static string Minute(DateTime t) => t.ToString("yyyy-MM-ddTHH:mm'Z'", CultureInfo.InvariantCulture);

    private static JsonElement Get(HttpClient http, string path)
    {
        var response = http.GetAsync(path).Result;
        var body = response.Content.ReadAsStringAsync().Result;
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Test]
    public void History_BucketsTheMinuteLinesAndDepthSamples_PerMinuteAndPerHour()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("init");
        var now = DateTime.UtcNow;
        var fiveAgo = now.AddMinutes(-5);
        var threeHoursAgo = now.AddHours(-3);
        var stats = home.PathOf("stats");
        Directory.CreateDirectory(stats);
        // Two workers' minute lines (one rotated to .1), a line from 9 days ago (outside 7d), and a torn line.
        File.WriteAllText(Path.Combine(stats, "w1.minutes"),
            $"{Minute(fiveAgo)} queue=default completed=3 failed=1 dead=0\n{Minute(fiveAgo)} queue=mail completed=2 failed=0 dead=1\n{Minute(now.AddDays(-9))} queue=default completed=100 failed=0 dead=0\n2026-11-30T1");
        File.WriteAllText(Path.Combine(stats, "w2.minutes.1"), $"{Minute(fiveAgo)} queue=default completed=4 failed=0 dead=0\n{Minute(threeHoursAgo)} queue=default completed=7 failed=2 dead=0\n");
        File.WriteAllText(Path.Combine(stats, "w1.depth"), $"{Minute(fiveAgo)} ready=12 oldest_ready_s=40\n{Minute(threeHoursAgo)} ready=3 oldest_ready_s=5\n");
        File.WriteAllText(Path.Combine(stats, "w2.depth"), $"{Minute(fiveAgo)} ready=10 oldest_ready_s=90\n");
        using var dashboard = new DashboardProcess(home);

        var hour = Get(dashboard.Client, "/api/history?window=1h");
        var buckets = hour.GetProperty("buckets").EnumerateArray().ToList();
        var five = buckets.Single(b => b.GetProperty("start").GetString()!.StartsWith(Minute(fiveAgo)[..16], StringComparison.Ordinal));

        Assert.That(hour.GetProperty("bucket_seconds").GetDouble(), Is.EqualTo(60));
        Assert.That(buckets, Has.Count.EqualTo(60));
        Assert.That(five.GetProperty("completed").GetInt64(), Is.EqualTo(9), "3 + 2 + 4, every queue, both workers, the .1 file too");
        Assert.That(five.GetProperty("failed").GetInt64(), Is.EqualTo(1));
        Assert.That(five.GetProperty("dead").GetInt64(), Is.EqualTo(1));
        Assert.That(five.GetProperty("ready").GetInt32(), Is.EqualTo(12), "the highest sample of the minute");
        Assert.That(five.GetProperty("oldest_ready_seconds").GetDouble(), Is.EqualTo(90));
        Assert.That(buckets.Sum(b => b.GetProperty("completed").GetInt64()), Is.EqualTo(9), "the 3-hour-old line is outside the hour");
        Assert.That(buckets.Count(b => b.GetProperty("ready").ValueKind == JsonValueKind.Null), Is.EqualTo(59), "no sample: null, not 0");

        var mail = Get(dashboard.Client, "/api/history?window=1h&queue=mail");
        Assert.That(mail.GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("completed").GetInt64()), Is.EqualTo(2));

        var week = Get(dashboard.Client, "/api/history?window=7d");
        var hours = week.GetProperty("buckets").EnumerateArray().ToList();
        Assert.That(week.GetProperty("bucket_seconds").GetDouble(), Is.EqualTo(3600));
        Assert.That(hours, Has.Count.EqualTo(168));
        Assert.That(hours.Sum(b => b.GetProperty("completed").GetInt64()), Is.EqualTo(16), "9 + 7; the 9-day-old line is outside");
        Assert.That(hours.Sum(b => b.GetProperty("failed").GetInt64()), Is.EqualTo(3));
        Assert.That(Get(dashboard.Client, "/api/history?window=24h").GetProperty("buckets").GetArrayLength(), Is.EqualTo(24));

        Assert.That(dashboard.Client.GetAsync("/api/history?window=5y").Result.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(dashboard.Client.GetAsync("/api/history?queue=..%2Fetc").Result.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(dashboard.Anonymous.GetAsync("/api/history").Result.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public void AWorker_AppendsADepthSample_WhenItStops()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "true", "--id", "first");
        home.Ok("pause", "--queue", "slow");
        home.Ok("enqueue", "--command", "true", "--id", "held", "--queue", "slow");
        var workers = home.StartWorkers(1);
        Eventually.True(() => home.Ids("completed").Count == 1, TimeSpan.FromSeconds(30), "the default job ran");
        home.Ok("worker", "stop");

        var depth = Directory.GetFiles(home.PathOf("stats"), "*.depth");
        Assert.That(depth, Has.Length.EqualTo(1), string.Join(", ", workers));
        var line = File.ReadAllLines(depth[0]).Last();
        Assert.That(line, Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\dZ ready=1 oldest_ready_s=\d+(\.\d)?$"), "the paused queue's job is still ready");
        var minutes = File.ReadAllText(Path.ChangeExtension(depth[0], ".minutes"));
        Assert.That(minutes, Does.Contain("queue=default completed=1 failed=0 dead=0"));

        using var dashboard = new DashboardProcess(home);
        var buckets = Get(dashboard.Client, "/api/history?window=1h").GetProperty("buckets").EnumerateArray().ToList();
        Assert.That(buckets.Sum(b => b.GetProperty("completed").GetInt64()), Is.EqualTo(1));
        Assert.That(buckets.Max(b => b.GetProperty("ready").ValueKind == JsonValueKind.Number ? b.GetProperty("ready").GetInt32() : -1), Is.EqualTo(1));
    }
}
