using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Views;

/// <summary>
/// Figures over the jobs that finished (completed or dead) within the window, and their attempts.
/// Durations, attempts per job and the window's attempts come from the newest
/// <see cref="RecentFinished"/> finished jobs and every unfinished one; the count of finished jobs
/// from those files while they are all the finished jobs, else from the workers' per-minute
/// counters (<see cref="CounterFiles.SumMinutes"/>) when those count more.
/// </summary>
internal sealed record QueueStats(
    QueueCounts Counts, TimeSpan Window, int Finished, int Succeeded, double AttemptsPerJob,
    int AttemptsInWindow, double? DurationP50, double? DurationP95, double JobsPerMinute)
{
    public double? SuccessRate => Finished == 0 ? null : (double)Succeeded / Finished;

    /// <summary>How many finished jobs, newest first, stats and /metrics read for durations and attempts per job.</summary>
    public const int RecentFinished = 1000;

    /// <summary>
    /// The newest <see cref="RecentFinished"/> finished jobs (completed and dead, by enqueue order;
    /// <see cref="JobPage"/>): what the figures of recent jobs are taken from, at the same cost with
    /// 1,000 finished jobs as with a million. Total says how many finished jobs there are.
    /// </summary>
    public static JobPage Recent(JobStore store, DateTime now) =>
        JobPage.Take(store, [JobState.Completed, JobState.Dead], JobFilter.None, newest: true, offset: 0, RecentFinished, now);

    public static QueueStats Take(QueueHome home, TimeSpan window, DateTime now)
    {
        var since = now - window;
        var store = new JobStore(home);
        var recent = Recent(store, now);
        var finished = new List<Job>();
        var durations = new List<double>();
        void Attempts(Job job) => durations.AddRange((job.History ?? []).Where(a => a.FinishedAt >= since).Select(a => a.DurationSeconds));
        foreach (var stored in recent.Jobs)
        {
            if (stored.Job is { } job)
            {
                Attempts(job);
                if (job.FinishedAt >= since)
                {
                    finished.Add(job);
                }
            }
        }
        // Unfinished jobs are the present, not the history: all of them are read, as before.
        foreach (var state in new[] { JobState.Pending, JobState.Processing, JobState.Failed })
        {
            foreach (var stored in store.ReadAll(state))
            {
                if (stored.Job is { } job)
                {
                    Attempts(job);
                }
            }
        }
        durations.Sort();
        var count = finished.Count;
        var succeeded = finished.Count(j => j.State == JobState.Completed);
        if (recent.Total > recent.Jobs.Count)
        {
            // Not every finished job was read: the workers' per-minute counters count the window's
            // finishes (jobs finished by a worker; files dropped into completed/ are not counted).
            var minutes = CounterFiles.SumMinutes(home, since);
            if (minutes.Completed + minutes.Dead > count)
            {
                count = (int)(minutes.Completed + minutes.Dead);
                succeeded = (int)minutes.Completed;
            }
        }
        return new QueueStats(
            QueueCounts.Take(home, now),
            window,
            count,
            succeeded,
            finished.Count == 0 ? 0 : finished.Average(j => j.Attempts),
            durations.Count,
            Percentile(durations, 0.50),
            Percentile(durations, 0.95),
            count / Math.Max(window.TotalMinutes, 1.0 / 60));
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double? Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? null : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
