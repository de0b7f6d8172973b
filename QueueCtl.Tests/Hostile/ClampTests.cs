using System.Text;
using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Retries;

namespace QueueCtl.Tests.Hostile;

/// <summary>The pure bounds behind issue 15: no input makes the arithmetic throw or overflow.</summary>
[Parallelizable(ParallelScope.All)]
public class ClampTests
{
    private static readonly DateTime Now = new(2025, 11, 4, 10, 30, 0, DateTimeKind.Utc);
    private static readonly JobDefaults Defaults = new(3, "/work", Now);

    private static Failure Refused(string json) =>
        Assert.Throws<Failure>(() => JobParser.Parse(json, Defaults))!;

    // ---- retries ----

    [TestCase(int.MaxValue, 100, 2000 * 86400.0, 365 * 86400.0)]
    [TestCase(int.MaxValue, 2, 3600, 3600)]
    [TestCase(int.MinValue, 2, 3600, 2)]
    [TestCase(0, 2, 3600, 2)]
    [TestCase(1000, 1.000001, 365 * 86400.0, 1.001)]
    [TestCase(6, 100, 1e300, 365 * 86400.0)]
    [TestCase(3, double.NaN, 3600, 1)]
    public void Delay_NeverThrows_AndStaysWithinTheCap(int n, double backoffBase, double max, double expectedSeconds)
    {
        Assert.That(RetryPolicy.Delay(n, backoffBase, max).TotalSeconds, Is.EqualTo(expectedSeconds).Within(0.01));
    }

    [Test]
    public void AfterFailure_WithHugeCounters_IsDead()
    {
        var decision = RetryPolicy.AfterFailure(int.MaxValue, int.MaxValue, new Settings(), Now);

        Assert.That(decision.State, Is.EqualTo(JobState.Dead));
    }

    [Test]
    public void AfterFailure_NearTheEndOfTime_SaturatesInsteadOfOverflowing()
    {
        var late = DateTime.MaxValue.AddSeconds(-5);

        var decision = RetryPolicy.AfterFailure(1, 3, new Settings { BackoffMaxSeconds = 3600 }, late);

        Assert.That(decision.State, Is.EqualTo(JobState.Failed));
        Assert.That(decision.NotBefore, Is.GreaterThanOrEqualTo(late));
    }

    [Test]
    public void Finished_WithAttemptsAtIntMax_GoesDead_WithoutWrapping()
    {
        var job = new Job
        {
            Id = "jam", Command = "false", State = JobState.Processing,
            Attempts = int.MaxValue, MaxRetries = int.MaxValue, CreatedAt = Now, UpdatedAt = Now,
        };

        var final = Transitions.Finished(job, new AttemptResult(1, null, Now, Now.AddSeconds(1)), "w", new Settings());

        Assert.That(final.State, Is.EqualTo(JobState.Dead));
        Assert.That(final.Attempts, Is.EqualTo(int.MaxValue));
    }

    // ---- durations ----

    [TestCase("3650000d", false)]
    [TestCase("36501d", false)]
    [TestCase("36500d", true)]
    [TestCase("NaNs", false)]
    [TestCase("Infinity", false)]
    public void Duration_IsAtMostAHundredYears(string text, bool accepted)
    {
        Assert.That(Duration.TryParse(text, out _), Is.EqualTo(accepted));
    }

    // ---- settings ----

    [Test]
    public void Normalize_ReplacesEveryOutOfRangeValue_WithItsDefault_AndSaysSo()
    {
        var problems = new List<string>();
        var hostile = new Settings
        {
            MaxRetries = -1, BackoffBase = 0, BackoffMaxSeconds = 1e300,
            JobTimeoutSeconds = 1e10, WorkerLeaseSeconds = 0, LogMaxBytes = 0,
        };

        var used = SettingKeys.Normalize(hostile, problems);

        Assert.That(used, Is.EqualTo(new Settings()));
        Assert.That(problems, Has.Count.EqualTo(6));
        Assert.That(problems, Has.Some.Contain("worker_lease 0s"));
    }

    [TestCase("backoff-base", "NaN")]
    [TestCase("backoff-max", "366d")]
    [TestCase("job-timeout", "50d")]
    [TestCase("worker-lease", "36501d")]
    public void ConfigSet_RefusesValuesPastTheirMaximum(string key, string value)
    {
        Assert.Throws<Failure>(() => SettingKeys.Find(key).Apply(value, new Settings()));
    }

    // ---- the job parser ----

    [TestCase("""{"command":"true","meta":5}""", "'meta' must be an object")]
    [TestCase("""{"command":"true","meta":[1]}""", "'meta' must be an object")]
    [TestCase("""{"command":"true","max_retries":1001}""", "'max_retries' must be from 0 to 1000")]
    [TestCase("""{"command":"true","max_retries":-1}""", "'max_retries' must be from 0 to 1000")]
    [TestCase("""{"command":"true","max_retries":2,"attempts":4}""", "'attempts' must be from 0")]
    [TestCase("""{"command":"true","attempts":-1}""", "'attempts' must be from 0")]
    [TestCase("""{"command":"true","timeout_seconds":4233601}""", "at most 4233600 (49d)")]
    [TestCase("""{"command":"a\u0000b"}""", "NUL")]
    [TestCase("""{"command":"true","env":{"A=B":"x"}}""", "contains '='")]
    [TestCase("""{"command":"true","env":{"":"x"}}""", "empty variable name")]
    [TestCase("""{"command":"true","env":{"A":"x\u0000"}}""", "NUL")]
    [TestCase("""{"command":"true","cwd":"/a\u0000"}""", "NUL")]
    public void Parse_RefusesWhatCannotRunAsWritten(string json, string reason)
    {
        Assert.That(Refused(json).Message, Does.Contain(reason));
    }

    [Test]
    public void Parse_AcceptsTheLimitsThemselves()
    {
        var job = JobParser.Parse(
            """{"command":"true","max_retries":1000,"attempts":1001,"timeout_seconds":4233600,"meta":{}}""", Defaults);

        Assert.That(job.MaxRetries, Is.EqualTo(1000));
        Assert.That(job.Attempts, Is.EqualTo(1001));
    }

    [Test]
    public void Parse_CommandLength_IsLimitedToMaxArgStrlenMinusOne()
    {
        var fits = "{\"command\":\"" + new string('x', JobLimits.MaxCommandBytes) + "\"}";
        var tooLong = "{\"command\":\"" + new string('x', JobLimits.MaxCommandBytes + 1) + "\"}";

        Assert.That(JobParser.Parse(fits, Defaults).Command, Has.Length.EqualTo(131071));
        Assert.That(Refused(tooLong).Message, Does.Contain("131072 bytes").And.Contain("131071"));
    }

    [Test]
    public void Parse_CommandAndEnvTogether_AreLimited()
    {
        var env = string.Join(",", Enumerable.Range(0, 5).Select(i => $"\"K{i}\":\"{new string('v', 110_000)}\""));

        Assert.That(Refused("{\"command\":\"env\",\"env\":{" + env + "}}").Message, Does.Contain("512K"));
    }

    [Test]
    public void Parse_Bytes_RefusesInvalidUtf8()
    {
        byte[] bytes = [.. "{\"command\":\"echo "u8, 0xC3, 0x28, .. "\"}"u8];

        var failure = Assert.Throws<Failure>(() => JobParser.Parse(bytes, Defaults))!;

        Assert.That(failure.Message, Does.Contain("not valid UTF-8"));
    }

    [Test]
    public void Parse_Bytes_KeepsAGenuineReplacementCharacter()
    {
        var job = JobParser.Parse(Encoding.UTF8.GetBytes("{\"command\":\"echo \uFFFD\"}"), Defaults);

        Assert.That(job.Command, Is.EqualTo("echo \uFFFD"));
    }

    [Test]
    public void Parse_RefusesAJobOverOneMiB()
    {
        var big = "{\"command\":\"true\",\"meta\":{\"m\":\"" + new string('m', JobLimits.MaxFileBytes) + "\"}}";

        Assert.That(Refused(big).Message, Does.Contain("1M (1048576 bytes)"));
    }
}
