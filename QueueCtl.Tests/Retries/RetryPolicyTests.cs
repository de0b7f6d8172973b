using QueueCtl.Config;
using QueueCtl.Retries;

namespace QueueCtl.Tests.Retries;

[Parallelizable(ParallelScope.All)]
public class RetryPolicyTests
{
    [TestCase(1, 2, 3600, 2)]
    [TestCase(2, 2, 3600, 4)]
    [TestCase(3, 2, 3600, 8)]
    [TestCase(10, 2, 3600, 1024)]
    [TestCase(12, 2, 3600, 3600)]
    [TestCase(1, 3, 3600, 3)]
    [TestCase(2, 3, 3600, 9)]
    [TestCase(4, 1.5, 3600, 5.0625)]
    [TestCase(3, 2, 5, 5)]
    [TestCase(1000, 2, 60, 60)]
    [TestCase(1000, 100, 86400, 86400)]
    [TestCase(5, 1, 3600, 1)]
    public void Delay_IsBaseToTheN_CappedByBackoffMax(int n, double backoffBase, double max, double expectedSeconds)
    {
        Assert.That(RetryPolicy.Delay(n, backoffBase, max).TotalSeconds, Is.EqualTo(expectedSeconds).Within(0.001));
    }

    [Test]
    public void AfterFailure_RetriesUntilAttemptsExceedMaxRetries_ThenDead()
    {
        var settings = new Settings { BackoffBase = 2, BackoffMaxSeconds = 3600 };
        var now = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        var first = RetryPolicy.AfterFailure(attempts: 1, maxRetries: 2, settings, now);
        var second = RetryPolicy.AfterFailure(attempts: 2, maxRetries: 2, settings, now);
        var third = RetryPolicy.AfterFailure(attempts: 3, maxRetries: 2, settings, now);

        Assert.That(first.State, Is.EqualTo("failed"));
        Assert.That(first.NotBefore, Is.EqualTo(now.AddSeconds(2)));
        Assert.That(second.NotBefore, Is.EqualTo(now.AddSeconds(4)));
        Assert.That(third.State, Is.EqualTo("dead"));
        Assert.That(third.NotBefore, Is.Null);
    }

    [Test]
    public void AfterFailure_WithNoRetries_IsDeadAtOnce()
    {
        Assert.That(RetryPolicy.AfterFailure(1, 0, new Settings(), DateTime.UtcNow).State, Is.EqualTo("dead"));
    }
}
