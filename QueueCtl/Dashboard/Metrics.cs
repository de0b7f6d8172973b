using System.Globalization;
using System.Text;
using QueueCtl.Jobs;
using QueueCtl.Processing;
using QueueCtl.Protocol;
using QueueCtl.Storage;
using QueueCtl.Views;

namespace QueueCtl.Dashboard;

/// <summary>
/// /metrics in the Prometheus text format, derived from the files at each scrape: counts by
/// listing, ages from mtimes, attempt duration quantiles from the newest finished jobs' histories. The *_total counters
/// come from the workers' counter files (<see cref="CounterFiles"/>), so they never go down.
/// </summary>
internal static class Metrics
{
    public static string Render(QueueHome home, DateTime now)
    {
        var text = new StringBuilder();
        var counts = QueueCounts.Take(home, now);

        Family(text, "queuectl_jobs", "gauge", "Jobs per state: files in each folder (pending split into ready and scheduled).");
        foreach (var (state, value) in new[]
                 {
                     ("ready", counts.Ready), ("scheduled", counts.Scheduled), ("processing", counts.Processing),
                     ("completed", counts.Completed), ("failed", counts.Failed), ("dead", counts.Dead), ("rejected", counts.Rejected),
                 })
        {
            Sample(text, "queuectl_jobs", $"state=\"{state}\"", value);
        }

        var registry = new WorkerRegistry(home);
        var liveness = registry.Judge(ConfigStore.Load(home), now);
        var workers = registry.ReadAll();
        Family(text, "queuectl_workers", "gauge", "Registered workers by state (dead: process gone or heartbeat older than worker-lease).");
        foreach (var state in new[] { "idle", "busy", "paused", "stopping", "dead" })
        {
            Sample(text, "queuectl_workers", $"state=\"{state}\"",
                workers.Count(w => (liveness.DeathReason(w) is null ? w.State : "dead") == state));
        }

        Family(text, "queuectl_oldest_pending_age_seconds", "gauge", "Age of the oldest ready pending job (by file mtime), 0 when none.");
        var oldest = OldestReady(home, now);
        Sample(text, "queuectl_oldest_pending_age_seconds", null, oldest is { } t ? Math.Round((now - t).TotalSeconds, 3) : 0);

        // Quantiles over the recent attempts: the newest finished jobs' histories (a bounded read,
        // QueueStats.Recent) and the unfinished jobs'; _sum and _count from the workers' counters, so they never go down.
        var durations = new List<double>();
        var store = new JobStore(home);
        foreach (var stored in QueueStats.Recent(store, now).Jobs.Concat(store.ReadAll(JobState.Processing)).Concat(store.ReadAll(JobState.Failed)))
        {
            foreach (var attempt in stored.Job?.History ?? [])
            {
                durations.Add(attempt.DurationSeconds);
            }
        }
        durations.Sort();
        var totals = CounterFiles.Sum(home);
        var all = CounterFiles.Total(totals.Values);
        Family(text, "queuectl_attempt_duration_seconds", "summary",
            $"Attempt durations: quantiles over the histories of the newest {QueueStats.RecentFinished} finished jobs and the unfinished ones; sum and count over every attempt a worker finished.");
        foreach (var q in new[] { 0.5, 0.95, 0.99 })
        {
            Sample(text, "queuectl_attempt_duration_seconds", $"quantile=\"{q.ToString(CultureInfo.InvariantCulture)}\"",
                QueueStats.Percentile(durations, q) ?? double.NaN);
        }
        Sample(text, "queuectl_attempt_duration_seconds_sum", null, Math.Round(all.DurationSeconds, 3));
        Sample(text, "queuectl_attempt_duration_seconds_count", null, all.Attempts);

        // Counters that never go down (stats/<worker>.json, summed): purge and retention leave them alone.
        if (totals.Count == 0)
        {
            totals[Job.DefaultQueue] = QueueTotals.Zero; // the series exist from the start, at 0
        }
        Family(text, "queuectl_jobs_completed_total", "counter", "Jobs completed by workers, per queue; never goes down (purge and retention do not lower it).");
        foreach (var (queue, q) in totals)
        {
            Sample(text, "queuectl_jobs_completed_total", QueueLabel(queue), q.Completed);
        }
        Family(text, "queuectl_jobs_retried_total", "counter", "Failed attempts followed by a retry (the job went to failed/), per queue.");
        foreach (var (queue, q) in totals)
        {
            Sample(text, "queuectl_jobs_retried_total", QueueLabel(queue), q.Failed);
        }
        Family(text, "queuectl_jobs_dead_total", "counter", "Jobs that went dead (retries exhausted or cancelled while running), per queue.");
        foreach (var (queue, q) in totals)
        {
            Sample(text, "queuectl_jobs_dead_total", QueueLabel(queue), q.Dead);
        }
        Family(text, "queuectl_attempts_failed_total", "counter", "Jobs that left processing other than completed (retried or dead), per queue.");
        foreach (var (queue, q) in totals)
        {
            Sample(text, "queuectl_attempts_failed_total", QueueLabel(queue), q.Failed + q.Dead);
        }
        return text.ToString();
    }

    private static string QueueLabel(string queue) => $"queue=\"{queue}\"";

    private static DateTime? OldestReady(QueueHome home, DateTime now)
    {
        var folder = new DirectoryInfo(home.StateFolder(JobState.Pending));
        if (!folder.Exists)
        {
            return null;
        }
        DateTime? oldest = null;
        foreach (var file in folder.EnumerateFiles())
        {
            var mtime = file.LastWriteTimeUtc;
            if (QueueHome.IsJobFileName(file.Name) && mtime <= now && (oldest is null || mtime < oldest))
            {
                oldest = mtime;
            }
        }
        return oldest;
    }

    private static void Family(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder text, string name, string? labels, double value)
    {
        text.Append(name);
        if (labels is not null)
        {
            text.Append('{').Append(labels).Append('}');
        }
        var number = double.IsNaN(value) ? "NaN" : value.ToString(CultureInfo.InvariantCulture);
        text.Append(' ').Append(number).Append('\n');
    }
}
