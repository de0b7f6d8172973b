using QueueCtl.Config;
using QueueCtl.Jobs;

namespace QueueCtl.Retries;

/// <summary>The result of one attempt, as the runner saw it.</summary>
internal sealed record AttemptResult(int? ExitCode, string? Error, DateTime StartedAt, DateTime FinishedAt)
{
    public bool Succeeded => ExitCode == 0 && Error is null;

    /// <summary>Why and how much of the attempt's output could not be written to its log (a full disk), or null.</summary>
    public string? OutputLost { get; init; }
}

/// <summary>Builds the job file of the next state. Every transition records its reason in the file.</summary>
internal static class Transitions
{
    public static Job Claimed(Job job, string workerId, DateTime now) => job with
    {
        State = JobState.Processing,
        WorkerId = workerId,
        StartedAt = UtcTimestamp.Truncate(now),
        UpdatedAt = UtcTimestamp.Truncate(now),
    };

    /// <summary>After an attempt ends: completed, failed (with not_before) or dead.</summary>
    public static Job Finished(Job job, AttemptResult result, string? workerId, Settings settings)
    {
        var attempts = job.Attempts == int.MaxValue ? int.MaxValue : job.Attempts + 1; // never wraps to negative
        var history = new List<Attempt>(job.History ?? []);
        var started = UtcTimestamp.Truncate(result.StartedAt);
        var finished = UtcTimestamp.Truncate(result.FinishedAt);
        string state;
        DateTime? notBefore = null;
        if (result.Succeeded)
        {
            state = JobState.Completed;
        }
        else
        {
            var decision = RetryPolicy.AfterFailure(attempts, job.MaxRetries, settings, result.FinishedAt);
            state = decision.State;
            notBefore = decision.NotBefore;
        }
        history.Add(new Attempt
        {
            Number = job.NextAttemptNumber,
            Worker = workerId,
            StartedAt = started,
            FinishedAt = finished,
            DurationSeconds = Math.Round((result.FinishedAt - result.StartedAt).TotalSeconds, 3),
            ExitCode = result.ExitCode,
            Outcome = state,
            Error = result.Succeeded ? null : result.Error,
            OutputLost = result.OutputLost,
        });
        return job with
        {
            State = state,
            Attempts = attempts,
            NotBefore = notBefore,
            WorkerId = null,
            StartedAt = started,
            FinishedAt = finished,
            ExitCode = result.ExitCode,
            LastError = result.Succeeded ? null : result.Error ?? $"exit code {result.ExitCode}",
            UpdatedAt = finished,
            History = history,
        };
    }

    /// <summary>dlq retry: back to pending with a fresh attempt budget; history stays.</summary>
    public static Job Revived(Job job, DateTime now) => job with
    {
        State = JobState.Pending,
        Attempts = 0,
        NotBefore = null,
        WorkerId = null,
        UpdatedAt = UtcTimestamp.Truncate(now),
    };

    /// <summary>`cancel` of a job that is not running (pending, scheduled, failed): dead, no attempt counted.</summary>
    public static Job Cancelled(Job job, string reason, DateTime now) => job with
    {
        State = JobState.Dead,
        NotBefore = null,
        WorkerId = null,
        FinishedAt = UtcTimestamp.Truncate(now),
        LastError = reason,
        UpdatedAt = UtcTimestamp.Truncate(now),
    };

    /// <summary>
    /// `cancel` of a running job: the attempt is recorded like any other (attempts + 1, a history
    /// entry with the reason), but the job goes dead whatever retries are left.
    /// </summary>
    public static Job CancelledRun(Job job, AttemptResult result, string reason, string? workerId, Settings settings)
    {
        var finished = Finished(job, result with { Error = reason }, workerId, settings);
        var history = finished.History!.ToList();
        history[^1] = history[^1] with { Outcome = JobState.Dead, Error = reason };
        return finished with { State = JobState.Dead, NotBefore = null, LastError = reason, History = history };
    }
}
