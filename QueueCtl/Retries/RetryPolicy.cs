using Polly.Contrib.WaitAndRetry;
using QueueCtl.Config;
using QueueCtl.Jobs;

namespace QueueCtl.Retries;

/// <summary>What happens to a job after a failed attempt.</summary>
internal sealed record RetryDecision(string State, DateTime? NotBefore, TimeSpan Delay);

/// <summary>
/// Pure retry rules: after the n-th failed attempt wait base^n seconds, capped by backoff-max;
/// once attempts exceed max_retries the job is dead. "now" is passed in; nothing sleeps here.
/// Total over every input (a hand-edited file can hold any int): nothing here throws or overflows.
/// </summary>
internal static class RetryPolicy
{
    /// <summary>The delay after the n-th failed attempt, computed by Polly's exponential backoff.</summary>
    public static TimeSpan Delay(int failedAttempts, double backoffBase, double backoffMaxSeconds)
    {
        // Settings are normalised when read, but this stays safe on its own: the cap is kept in
        // 1 s .. 365 d and n is at least 1.
        var maxSeconds = double.IsNaN(backoffMaxSeconds) ? JobLimits.MaxBackoffSeconds : Math.Clamp(backoffMaxSeconds, 1, JobLimits.MaxBackoffSeconds);
        var cap = TimeSpan.FromSeconds(maxSeconds);
        var n = Math.Max(1, failedAttempts);
        if (!(backoffBase > 1))
        {
            return TimeSpan.FromSeconds(1);
        }
        // Once base^n reaches the cap the answer is the cap: deciding that with logarithms keeps
        // Polly's sequence (base, base², base³ …) below the cap, far from TimeSpan overflow.
        if (n * Math.Log(backoffBase) >= Math.Log(maxSeconds))
        {
            return cap;
        }
        var delay = Backoff.ExponentialBackoff(TimeSpan.FromSeconds(backoffBase), retryCount: n, factor: backoffBase).Last();
        return delay < cap ? delay : cap;
    }

    /// <summary>Where a job goes after its attempts counter became <paramref name="attempts"/> by a failure.</summary>
    public static RetryDecision AfterFailure(int attempts, int maxRetries, Settings settings, DateTime now)
    {
        // A max_retries beyond what the parser accepts (a file written by hand into failed/ or
        // processing/) counts as the largest accepted one, so such a job still ends.
        if (attempts > Math.Clamp(maxRetries, 0, JobLimits.MaxRetries))
        {
            return new RetryDecision(JobState.Dead, null, TimeSpan.Zero);
        }
        var delay = Delay(attempts, settings.BackoffBase, settings.BackoffMaxSeconds);
        return new RetryDecision(JobState.Failed, UtcTimestamp.Truncate(AddSaturating(now, delay)), delay);
    }

    /// <summary>now + delay, or DateTime.MaxValue where the sum would pass the year 9999.</summary>
    public static DateTime AddSaturating(DateTime now, TimeSpan delay) =>
        delay >= DateTime.MaxValue - now ? new DateTime(DateTime.MaxValue.Ticks, DateTimeKind.Utc) : now + delay;
}
