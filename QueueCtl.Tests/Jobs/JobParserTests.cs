using System.Text.Json;
using QueueCtl.Jobs;

namespace QueueCtl.Tests.Jobs;

[Parallelizable(ParallelScope.All)]
public class JobParserTests
{
    private static readonly DateTime Now = new(2025, 11, 4, 10, 30, 0, 123, DateTimeKind.Utc);
    private static readonly JobDefaults Defaults = new(3, "/work", Now);

    private static Failure Refused(string json) =>
        Assert.Throws<Failure>(() => JobParser.Parse(json, Defaults))!;

    [TestCase("job1")]
    [TestCase("a")]
    [TestCase("A.b_c-9")]
    [TestCase("9lives")]
    public void Parse_AcceptsValidIds(string id)
    {
        var job = JobParser.Parse($"{{\"id\":\"{id}\",\"command\":\"true\"}}", Defaults);
        Assert.That(job.Id, Is.EqualTo(id));
    }

    [TestCase("a/b")]
    [TestCase("..")]
    [TestCase("../etc")]
    [TestCase("has space")]
    [TestCase("")]
    [TestCase(".hidden")]
    [TestCase("-dash")]
    public void Parse_RefusesUnsafeIds(string id)
    {
        var failure = Refused($"{{\"id\":\"{id}\",\"command\":\"true\"}}");
        Assert.That(failure.ExitCode, Is.EqualTo(2));
        Assert.That(failure.Message, Does.StartWith("Invalid id"));
    }

    [Test]
    public void Parse_Accepts128CharIds_AndRefuses129()
    {
        Assert.That(JobParser.Parse($"{{\"id\":\"{new string('a', 128)}\",\"command\":\"true\"}}", Defaults).Id, Has.Length.EqualTo(128));
        Assert.That(Refused($"{{\"id\":\"{new string('a', 129)}\",\"command\":\"true\"}}").Message, Does.StartWith("Invalid id"));
    }

    [Test]
    public void Parse_RefusesUnknownKeys_NamingTheAllowedOnes()
    {
        var failure = Refused("""{"command":"true","retries":3}""");
        Assert.That(failure.Message, Does.Contain("'retries'").And.Contain("max_retries").And.Contain("meta"));
    }

    [TestCase("""{"command":"true","max_retries":"3"}""", "'max_retries' must be an integer")]
    [TestCase("""{"command":"true","priority":1.5}""", "'priority' must be an integer")]
    [TestCase("""{"command":42}""", "'command' must be a string")]
    [TestCase("""{"command":"true","env":{"A":1}}""", "'env' must be an object whose values are strings")]
    [TestCase("""{"command":"true","run_at":"tomorrow"}""", "'run_at' must be an ISO-8601")]
    [TestCase("""{"command":"true","timeout_seconds":0}""", "'timeout_seconds' must be greater than 0")]
    [TestCase("""{"command":""}""", "non-empty 'command'")]
    [TestCase("""{"id":"x"}""", "non-empty 'command'")]
    [TestCase("""[]""", "must be a JSON object")]
    [TestCase("""{"command":"true","state":"completed"}""", "can only be 'pending'")]
    [TestCase("""{"command":"true",""", "not valid JSON")]
    public void Parse_RefusesWrongTypes(string json, string message)
    {
        var failure = Refused(json);
        Assert.That(failure.ExitCode, Is.EqualTo(2));
        Assert.That(failure.Message, Does.Contain(message));
    }

    [Test]
    public void Parse_FillsDefaults()
    {
        var job = JobParser.Parse("""{"command":"sleep 2"}""", Defaults);

        Assert.Multiple(() =>
        {
            Assert.That(job.State, Is.EqualTo("pending"));
            Assert.That(job.Attempts, Is.EqualTo(0));
            Assert.That(job.MaxRetries, Is.EqualTo(3));
            Assert.That(job.CreatedAt, Is.EqualTo(Now));
            Assert.That(job.UpdatedAt, Is.EqualTo(Now));
            Assert.That(job.Cwd, Is.EqualTo("/work"));
            Assert.That(JobId.IsValid(job.Id), Is.True);
            Assert.That(job.Id, Does.StartWith("20251104-103000-123-"));
        });
    }

    [Test]
    public void Parse_TurnsRunAtIntoNotBefore_InUtc()
    {
        var job = JobParser.Parse("""{"command":"true","run_at":"2025-11-04T12:30:00+02:00"}""", Defaults);
        Assert.That(job.NotBefore, Is.EqualTo(new DateTime(2025, 11, 4, 10, 30, 0, DateTimeKind.Utc)));
    }

    [Test]
    public void Serialize_WritesEveryRequiredField_TimestampsEndingInZ_AndMetaAsGiven()
    {
        const string meta = """{"nested":{"list":[1,2.50,"x"],"flag":true},"empty":null}""";
        var job = JobParser.Parse($$"""{"command":"true","id":"j","meta":{{meta}}}""", Defaults);

        using var document = JsonDocument.Parse(JobJson.Serialize(job));
        var root = document.RootElement;

        foreach (var key in new[] { "id", "command", "state", "attempts", "max_retries", "created_at", "updated_at" })
        {
            Assert.That(root.TryGetProperty(key, out _), Is.True, key);
        }
        Assert.That(root.GetProperty("created_at").GetString(), Is.EqualTo("2025-11-04T10:30:00.123Z"));
        Assert.That(root.GetProperty("updated_at").GetString(), Does.EndWith("Z"));
        Assert.That(root.GetProperty("meta").GetRawText().Replace(" ", "").Replace("\n", ""), Is.EqualTo(meta));
        Assert.That(root.TryGetProperty("priority", out _), Is.False, "optional keys are left out while unset");
    }

    [Test]
    public void Serialize_RoundTrips()
    {
        var job = JobParser.Parse("""{"command":"echo hi","id":"j","priority":5,"env":{"A":"1"},"timeout_seconds":2.5,"run_at":"2030-01-01T00:00:00Z"}""", Defaults);

        var back = JobJson.Deserialize(JobJson.Serialize(job));

        Assert.That(JobJson.Serialize(back), Is.EqualTo(JobJson.Serialize(job)));
        Assert.That(back.Env!["A"], Is.EqualTo("1"));
        Assert.That(back.NotBefore, Is.EqualTo(new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc)));
    }

    [Test]
    public void NewIds_SortByCreationTime()
    {
        var earlier = JobId.New(Now);
        var later = JobId.New(Now.AddMilliseconds(1));
        Assert.That(string.CompareOrdinal(earlier, later), Is.LessThan(0));
        var same = Enumerable.Range(0, 1000).Select(_ => JobId.New(Now)).Distinct().Count();
        Assert.That(same, Is.EqualTo(1000));
    }
}
