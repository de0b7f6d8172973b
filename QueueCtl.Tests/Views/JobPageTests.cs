using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Views;

/// <summary>
/// The order and paging that `list` and /api/jobs rely on (Views/JobPage.cs): enqueue order, the
/// time in a generated id standing for created_at, an explicit id read for its created_at, and a
/// filter reading only until its page is full.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class JobPageTests
{
    // Ids as JobId.New makes them: enqueue time, then 8 hex digits.
    private static readonly string[] Generated =
    [
        "20250101-000000-001-ffffffff", "20250101-000000-002-00000000", "20250101-000001-000-0000000a", "20250101-000001-000-0000000b",
    ];

    private static void Completed(TempHome home, string id, DateTime created, string command = "true")
    {
        string T(DateTime t) => t.ToString("yyyy-MM-ddTHH:mm:ss.fffZ");
        File.WriteAllText(home.PathOf("completed", id + ".json"),
            $$"""{"id":"{{id}}","command":"{{command}}","state":"completed","attempts":1,"max_retries":3,"created_at":"{{T(created)}}","updated_at":"{{T(created)}}"}""");
    }

    private static string[] Ids(TempHome home, params string[] args) =>
        [.. home.Json(["list", .. args]).EnumerateArray().Select(j => j.GetProperty("id").GetString()!)];

    private static DateTime TimeOf(string id) => DateTime.ParseExact(id[..19], "yyyyMMdd-HHmmss-fff", null,
        System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);

    [Test]
    public void List_PagesInEnqueueOrder_OldestOrNewestFirst_FromTheNamesOfGeneratedIds()
    {
        using var home = new TempHome();
        // Written in a shuffled order, so neither the directory's order nor the mtimes give the answer.
        foreach (var id in new[] { Generated[2], Generated[0], Generated[3], Generated[1] })
        {
            Completed(home, id, TimeOf(id));
        }

        Assert.Multiple(() =>
        {
            Assert.That(Ids(home, "--state", "completed", "--limit", "2"), Is.EqualTo(new[] { Generated[0], Generated[1] }));
            Assert.That(Ids(home, "--state", "completed", "--newest", "--limit", "2"), Is.EqualTo(new[] { Generated[3], Generated[2] }));
            Assert.That(Ids(home, "completed"), Is.EqualTo(Generated), "the same millisecond: by id");
            Assert.That(Ids(home, "--limit", "3"), Is.EqualTo(Generated[..3]), "every state");
        });
    }

    [Test]
    public void List_PlacesAJobWithItsOwnId_ByItsCreatedAt()
    {
        using var home = new TempHome();
        foreach (var id in Generated)
        {
            Completed(home, id, TimeOf(id));
        }
        Completed(home, "mine", TimeOf(Generated[1]).AddMilliseconds(500)); // between [1] and [2]

        Assert.Multiple(() =>
        {
            Assert.That(Ids(home, "completed", "--limit", "3"), Is.EqualTo(new[] { Generated[0], Generated[1], "mine" }));
            Assert.That(Ids(home, "completed", "--newest", "--limit", "3"), Is.EqualTo(new[] { Generated[3], Generated[2], "mine" }));
        });
    }

    [Test]
    public void List_WithAFilter_PagesOverTheMatchesOnly_AndSaysMoreMatchWithoutACount()
    {
        using var home = new TempHome();
        for (var i = 0; i < 6; i++)
        {
            var created = new DateTime(2025, 1, 1, 0, 0, i, DateTimeKind.Utc);
            Completed(home, $"{created:yyyyMMdd-HHmmss-fff}-0000000{i}", created, i % 2 == 0 ? "echo even" : "echo odd");
        }

        var even = Ids(home, "completed", "--grep", "even", "--limit", "2");
        var newestOdd = Ids(home, "completed", "--grep", "odd", "--newest", "--limit", "2");

        Assert.Multiple(() =>
        {
            Assert.That(even, Is.EqualTo(new[] { "20250101-000000-000-00000000", "20250101-000002-000-00000002" }));
            Assert.That(newestOdd, Is.EqualTo(new[] { "20250101-000005-000-00000005", "20250101-000003-000-00000003" }));
            Assert.That(Ids(home, "completed", "--grep", "odd", "--limit", "0"), Has.Length.EqualTo(3));
        });
    }

    [Test]
    public void List_OfEnqueuedJobs_IsInEnqueueOrder()
    {
        using var home = new TempHome();
        var ids = Enumerable.Range(0, 4).Select(i =>
        {
            var id = home.Ok("enqueue", "--command", $"echo {i}").Trim();
            // Enqueue order is the id's millisecond: wait for the next one, so the four are apart.
            var next = TimeOf(id).AddMilliseconds(1);
            Eventually.True(() => DateTime.UtcNow >= next, TimeSpan.FromSeconds(5), "the next millisecond");
            return id;
        }).ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(Ids(home, "pending", "--limit", "2"), Is.EqualTo(ids[..2]));
            Assert.That(Ids(home, "pending", "--newest", "--limit", "2"), Is.EqualTo(new[] { ids[3], ids[2] }));
        });
    }
}
