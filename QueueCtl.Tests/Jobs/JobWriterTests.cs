using System.Text.Json;
using QueueCtl.Jobs;

namespace QueueCtl.Tests.Jobs;

/// <summary>JobWriter writes a job file by hand: the bytes must be the serializer's, key for key.</summary>
[Parallelizable(ParallelScope.All)]
public class JobWriterTests
{
    private static readonly DateTime Created = new(2025, 11, 4, 10, 30, 0, 123, DateTimeKind.Utc);

    private static byte[] Serializer(Job job) =>
        [.. JsonSerializer.SerializeToUtf8Bytes(job, JobJson.Files.Job), (byte)'\n'];

    private static IEnumerable<TestCaseData> Jobs()
    {
        var plain = new Job
        {
            Id = "job1",
            Command = "true",
            State = "pending",
            MaxRetries = 3,
            CreatedAt = Created,
            UpdatedAt = Created,
        };
        yield return new TestCaseData(plain).SetName("a plain job");
        yield return new TestCaseData(plain with
        {
            Queue = "emails",
            After = ["a", "b"],
            OnFinish = "echo done > /tmp/x",
            Labels = ["nightly"],
            Command = "echo 'héllo <wörld> & \"quotes\" \\ \t\u0001 日本 😀' | tr a-z A-Z",
            Attempts = 2,
            Priority = -5,
            NotBefore = Created.AddSeconds(2.5),
            TimeoutSeconds = 1.5,
            Cwd = "/work/dir with space",
            Env = new() { ["PATH"] = "/usr/bin:/bin", ["LANG"] = "C.UTF-8", ["ODD"] = "a=b\nc" },
            WorkerId = "host-123-abcd",
            StartedAt = Created.AddMinutes(1),
            FinishedAt = Created.AddMinutes(2),
            ExitCode = 1,
            LastError = "exit code 1 <stderr> tail: ✗",
            History =
            [
                new Attempt
                {
                    Number = 1, Worker = "w1", StartedAt = Created, FinishedAt = Created.AddSeconds(1),
                    DurationSeconds = 1.0, ExitCode = 1, Outcome = "failed", Error = "exit code 1",
                },
                new Attempt
                {
                    Number = 2, StartedAt = Created, FinishedAt = Created.AddSeconds(3), DurationSeconds = 2.987654321,
                    OutputLost = "12 bytes: No space left on device",
                    LateFinish = new LateFinish { Worker = "w2", FinishedAt = Created.AddHours(1), ExitCode = 0, Note = "late" },
                },
            ],
            Meta = JsonDocument.Parse("""{"owner":"ops","n":[1,2.50,{"x":null}],"t":true,"s":"<&>é"}""").RootElement,
        }).SetName("every key, text that needs escaping, history and meta");
        yield return new TestCaseData(plain with
        {
            State = "processing",
            Env = [],
            After = [],
            History = [],
            TimeoutSeconds = 1e-3,
            CreatedAt = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Local),
            Meta = JsonDocument.Parse("[]").RootElement,
        }).SetName("empty collections, a local time, a tiny timeout");
    }

    [TestCaseSource(nameof(Jobs))]
    public void Write_IsTheSerializersBytes(object value)
    {
        var job = (Job)value;
        var written = JobWriter.Write(job);
        Assert.That(System.Text.Encoding.UTF8.GetString(written), Is.EqualTo(System.Text.Encoding.UTF8.GetString(Serializer(job))));
        Assert.That(written, Is.EqualTo(Serializer(job)));
    }

    [Test]
    public void Write_ReadsBackAsTheSameJob()
    {
        var job = (Job)Jobs().Skip(1).First().Arguments[0]!;
        var back = JobJson.Deserialize(JobWriter.Write(job));
        Assert.That(back with { Meta = null, Env = null, After = null, Labels = null, History = null },
            Is.EqualTo(job with { Meta = null, Env = null, After = null, Labels = null, History = null }));
        Assert.That(back.Env, Is.EqualTo(job.Env));
        Assert.That(back.History, Is.EqualTo(job.History));
    }
}
