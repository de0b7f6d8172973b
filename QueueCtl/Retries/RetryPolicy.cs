using Polly.Contrib.WaitAndRetry;
using QueueCtl.Config;
using QueueCtl.Jobs;

namespace QueueCtl.Retries;

/// <summary>What happens to a job after a failed attempt.</summary>
internal sealed record RetryDecision(string State, DateTime? NotBefore, TimeSpan Delay);

/// <summary>
/// Pure retry rules: after the n-th failed attempt wait base^n seconds, capped by backoff-max;
/// once attempts exceed max_retries the job is dead. "now" is passed in; nothing sleeps here.
/// </summary>
internal static class RetryPolicy
{
    /// <summary>The delay after the n-th failed attempt (n ≥ 1), computed by Polly's exponential backoff.</summary>
    public static TimeSpan Delay(int failedAttempts, double backoffBase, double backoffMaxSeconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempts, 1);
        var cap = TimeSpan.FromSeconds(backoffMaxSeconds);
        if (backoffBase <= 1)
        {
            return TimeSpan.FromSeconds(Math.Min(1, backoffMaxSeconds));
        }
        // Past the exponent where base^n exceeds the cap the answer is the cap; stopping there keeps
        // Polly's sequence (base, base², base³ …) away from TimeSpan overflow.
        var lastUsefulExponent = (int)Math.Ceiling(Math.Log(backoffMaxSeconds) / Math.Log(backoffBase)) + 1;
        var n = Math.Min(failedAttempts, Math.Max(1, lastUsefulExponent));
        var delay = Backoff.ExponentialBackoff(TimeSpan.FromSeconds(backoffBase), retryCount: n, factor: backoffBase).Last();
        return delay < cap ? delay : cap;
    }

    /// <summary>Where a job goes after its attempts counter became <paramref name="attempts"/> by a failure.</summary>
    public static RetryDecision AfterFailure(int attempts, int maxRetries, Settings settings, DateTime now)
    {
        if (attempts > maxRetries)
        {
            return new RetryDecision(JobState.Dead, null, TimeSpan.Zero);
        }
        var delay = Delay(attempts, settings.BackoffBase, settings.BackoffMaxSeconds);
        return new RetryDecision(JobState.Failed, UtcTimestamp.Truncate(now + delay), delay);
    }
}
