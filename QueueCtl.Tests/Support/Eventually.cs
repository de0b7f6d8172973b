namespace QueueCtl.Tests.Support;

/// <summary>Waits on a condition with a deadline: the only way tests wait.</summary>
public static class Eventually
{
    public static void True(Func<bool> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {within.TotalSeconds} s waiting for: {what}");
            }
            Thread.Sleep(20);
        }
    }
}
