using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Views;

/// <summary>Figures over the jobs that finished (completed or dead) within the window, and their attempts.</summary>
internal sealed record QueueStats(
    QueueCounts Counts, TimeSpan Window, int Finished, int Succeeded, double AttemptsPerJob,
    int AttemptsInWindow, double? DurationP50, double? DurationP95, double JobsPerMinute)
{
    public double? SuccessRate => Finished == 0 ? null : (double)Succeeded / Finished;

    public static QueueStats Take(QueueHome home, TimeSpan window, DateTime now)
    {
        var since = now - window;
        var store = new JobStore(home);
        var finished = new List<Job>();
        var durations = new List<double>();
        foreach (var state in JobState.All)
        {
            foreach (var stored in store.ReadAll(state))
            {
                if (stored.Job is not { } job)
                {
                    continue;
                }
                durations.AddRange((job.History ?? []).Where(a => a.FinishedAt >= since).Select(a => a.DurationSeconds));
                if (state is JobState.Completed or JobState.Dead && job.FinishedAt >= since)
                {
                    finished.Add(job);
                }
            }
        }
        durations.Sort();
        return new QueueStats(
            QueueCounts.Take(home, now),
            window,
            finished.Count,
            finished.Count(j => j.State == JobState.Completed),
            finished.Count == 0 ? 0 : finished.Average(j => j.Attempts),
            durations.Count,
            Percentile(durations, 0.50),
            Percentile(durations, 0.95),
            finished.Count / Math.Max(window.TotalMinutes, 1.0 / 60));
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double? Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? null : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
