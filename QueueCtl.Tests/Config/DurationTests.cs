using QueueCtl.Config;

namespace QueueCtl.Tests.Config;

[Parallelizable(ParallelScope.All)]
public class DurationTests
{
    [TestCase("30", 30)]
    [TestCase("30s", 30)]
    [TestCase("1.5s", 1.5)]
    [TestCase("5m", 300)]
    [TestCase("1h", 3600)]
    [TestCase("7d", 604800)]
    public void TryParse_ReadsUnits(string text, double seconds)
    {
        Assert.That(Duration.TryParse(text, out var value), Is.True);
        Assert.That(value.TotalSeconds, Is.EqualTo(seconds));
    }

    [TestCase("")]
    [TestCase("abc")]
    [TestCase("-5s")]
    [TestCase("5w")]
    [TestCase("1e400")]
    public void TryParse_RefusesNonsense(string text)
    {
        Assert.That(Duration.TryParse(text, out _), Is.False);
    }
}
