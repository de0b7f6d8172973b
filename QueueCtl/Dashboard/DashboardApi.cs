using System.Text.Json;
using QueueCtl.Jobs;
using QueueCtl.Processing;
using QueueCtl.Protocol;
using QueueCtl.Storage;
using QueueCtl.Views;

namespace QueueCtl.Dashboard;

/// <summary>
/// The routes behind the page (README.md documents them). Before any route, the RequestGuard:
/// a loopback Host, no foreign Origin, and the token for everything under /api/ (the page and
/// /metrics carry no job data and stay open). Every id is checked against the id alphabet before
/// it touches a path, so no request reaches outside the home.
/// </summary>
internal sealed class DashboardApi(QueueHome home, RequestGuard guard, TimeProvider time)
{
    private const int MaxPageSize = 500;

    /// <summary>Finish hooks of jobs a cancel sent dead; their failures go to the dashboard's stderr.</summary>
    private readonly FinishHooks _hooks = new(home, new SettingsWatcher(home), line => Console.Error.WriteLine($"queuectl dashboard: {line}"), time);

    public async Task HandleAsync(HttpExchange context)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers["X-Content-Type-Options"] = "nosniff";
        response.Headers["Content-Security-Policy"] = "frame-ancestors 'none'";
        response.Headers["X-Frame-Options"] = "DENY";
        response.Headers["Referrer-Policy"] = "no-referrer";
        if (!guard.AllowsHost(request.HostName))
        {
            // Refused before anything is read: a DNS-rebinding page sends its own name here.
            response.StatusCode = 421;
            await Text(context, guard.HostRefusal, "text/plain; charset=utf-8");
            return;
        }
        if (!RequestGuard.AllowsOrigin(request))
        {
            await Error(context, 403, "Requests from another web origin are refused.");
            return;
        }
        var segments = request.Segments;
        if (segments is ["api", ..] && !guard.HasToken(request))
        {
            await Error(context, 401,
                $"The API needs the token that `queuectl dashboard` printed at start, in the {RequestGuard.TokenHeader} header (open the printed link).");
            return;
        }
        var get = request.Method is "GET" or "HEAD";
        var post = request.Method == "POST";
        try
        {
            switch (segments)
            {
                case [] when get:
                    await Page(context);
                    break;
                case ["metrics"] when get:
                    await Text(context, Metrics.Render(home, time.UtcNow()), "text/plain; version=0.0.4; charset=utf-8");
                    break;
                case ["api", "status"] when get:
                    await Json(context, w => Status(w));
                    break;
                case ["api", "workers"] when get:
                    await Json(context, w => Workers(w));
                    break;
                case ["api", "jobs"] when get:
                    await Jobs(context);
                    break;
                case ["api", "jobs", var id] when get:
                    await Job(context, id);
                    break;
                case ["api", "jobs", var id, "log"] when get:
                    await Log(context, id);
                    break;
                case ["api", "jobs", var id, "retry"] when post:
                    await Retry(context, id);
                    break;
                case ["api", "jobs", var id, "cancel"] when post:
                    await Cancel(context, id);
                    break;
                case ["api", "jobs", var id, "remove"] when post:
                    await Remove(context, id);
                    break;
                case ["api", "dlq", "retry-all"] when post:
                    await RetryAll(context);
                    break;
                case ["api", "history"] when get:
                    await HistoryOf(context);
                    break;
                case ["api", "queues"] when get:
                    await Json(context, w => Queues(w));
                    break;
                case ["api", "queues", var queue, "pause" or "resume"] when post:
                    await PauseOrResume(context, queue, segments[3] == "pause");
                    break;
                case [] or ["metrics"] or ["api", "status" or "workers" or "jobs" or "history" or "queues"] or ["api", "jobs", _]
                    or ["api", "jobs", _, "log" or "retry" or "cancel" or "remove"] or ["api", "dlq", "retry-all"] or ["api", "queues", _, "pause" or "resume"]:
                    await Error(context, 405, $"{request.Method} is not allowed here.");
                    break;
                default:
                    await Error(context, 404, "No such page.");
                    break;
            }
        }
        catch (Failure failure)
        {
            await Error(context, failure.ExitCode == Failure.InvalidUsage ? 400 : 409, failure.Message);
        }
    }

    private static async Task Page(HttpExchange context)
    {
        await using var page = typeof(DashboardApi).Assembly.GetManifestResourceStream("dashboard.html")
            ?? throw new InvalidOperationException("The dashboard page is missing from the build.");
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers["Cache-Control"] = "no-store";
        await page.CopyToAsync(context.Response.Body);
    }

    private void Status(Utf8JsonWriter w)
    {
        var now = time.UtcNow();
        var counts = QueueCounts.Take(home, now);
        w.WriteStartObject();
        counts.WriteProperties(w);
        PauseState.WriteProperties(w, PauseState.Read(home));
        if (counts.NextRun is { } next)
        {
            w.WriteNumber("next_run_in_seconds", Math.Round((next - now).TotalSeconds, 1));
        }
        w.WriteString("now", UtcTimestamp.ToText(now));
        w.WriteEndObject();
    }

    private void Workers(Utf8JsonWriter w)
    {
        var now = time.UtcNow();
        var registry = new WorkerRegistry(home);
        var liveness = registry.Judge(ConfigStore.Load(home), now);
        w.WriteStartArray();
        foreach (var r in registry.ReadAll())
        {
            w.WriteStartObject();
            w.WriteString("id", r.Id);
            w.WriteNumber("pid", r.Pid);
            w.WriteString("host", r.Host);
            w.WriteString("state", liveness.DeathReason(r) is null ? r.State : "dead");
            w.WriteString("current_job", r.CurrentJob);
            w.WriteString("started_at", UtcTimestamp.ToText(r.StartedAt));
            w.WriteNumber("heartbeat_age_seconds", Math.Round(liveness.HeartbeatAge(r).TotalSeconds, 1));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private async Task Jobs(HttpExchange context)
    {
        var request = context.Request;
        var state = request.Query("state");
        if (!JobState.IsValid(state))
        {
            await Error(context, 400, $"Unknown state '{state}'; valid states are {string.Join(", ", JobState.All)}.");
            return;
        }
        JobFilter filter;
        try
        {
            var queue = request.Query("queue");
            filter = JobFilter.Create(queue.Length == 0 ? null : queue, request.QueryAll("label").Where(v => v.Length > 0), request.Query("grep"), source: "");
        }
        catch (Failure e)
        {
            await Error(context, 400, e.Message);
            return;
        }
        var newest = request.Query("newest") is "1" or "true";
        var offset = int.TryParse(request.Query("offset"), out var o) && o >= 0 ? o : 0;
        var limit = int.TryParse(request.Query("limit"), out var l) && l > 0 ? Math.Min(l, MaxPageSize) : 50;
        // Only the page's files are read (JobPage); with a filter, files in order until the page is full.
        var page = JobPage.Take(new JobStore(home), [state], filter, newest, offset, limit, time.UtcNow());
        await Json(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("state", state);
            // With a filter and more matches than the page, the count is not known without reading every
            // file: total is then what has been seen (the page's end plus one) and total_exact is false.
            w.WriteNumber("total", page.Total ?? offset + page.Jobs.Count + 1);
            w.WriteBoolean("total_exact", page.Total is not null);
            w.WriteNumber("offset", offset);
            w.WriteNumber("limit", limit);
            w.WriteStartArray("jobs");
            foreach (var stored in page.Jobs)
            {
                w.WriteStartObject();
                w.WriteString("id", stored.Id);
                w.WriteString("state", stored.State);
                if (stored.Job is { } job)
                {
                    w.WriteString("command", job.Command);
                    w.WriteString("queue", job.QueueName);
                    w.WriteStartArray("labels");
                    foreach (var label in job.Labels ?? [])
                    {
                        w.WriteStringValue(label);
                    }
                    w.WriteEndArray();
                    w.WriteNumber("attempts", job.Attempts);
                    w.WriteNumber("max_retries", job.MaxRetries);
                    w.WriteNumber("priority", job.EffectivePriority);
                    w.WriteString("created_at", UtcTimestamp.ToText(job.CreatedAt));
                    w.WriteString("last_error", job.LastError);
                    if (job.NotBefore is { } nb)
                    {
                        w.WriteString("not_before", UtcTimestamp.ToText(nb));
                    }
                }
                else
                {
                    w.WriteString("error", stored.Error);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private async Task Job(HttpExchange context, string id)
    {
        if (await InvalidId(context, id))
        {
            return;
        }
        var stored = new JobStore(home).Locate(id);
        if (stored is null)
        {
            await Error(context, 404, $"No job with id '{id}'.");
            return;
        }
        string file;
        try
        {
            file = SharedFile.ReadAllText(stored.Path); // small; may wait out an ESTALE
        }
        catch (FileNotFoundException)
        {
            await Error(context, 409, $"Job '{id}' moved while it was read; ask again.");
            return;
        }
        var attempts = CommandRunner.Attempts(home, stored, id);
        await Json(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("state", stored.State);
            w.WriteString("path", Path.GetRelativePath(home.Root, stored.Path));
            w.WritePropertyName("file");
            try
            {
                using var parsed = JsonDocument.Parse(file);
                parsed.RootElement.WriteTo(w);
            }
            catch (JsonException)
            {
                w.WriteStringValue(file);
            }
            w.WriteStartArray("log_attempts");
            attempts.ForEach(w.WriteNumberValue);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private async Task Log(HttpExchange context, string id)
    {
        if (await InvalidId(context, id))
        {
            return;
        }
        var attempts = CommandRunner.Attempts(home, new JobStore(home).Locate(id), id);
        if (attempts.Count == 0)
        {
            await Text(context, "", "text/plain; charset=utf-8");
            return;
        }
        var attempt = int.TryParse(context.Request.Query("attempt"), out var a) ? a : attempts.Max();
        if (!attempts.Contains(attempt))
        {
            await Error(context, 404, $"Job '{id}' has no attempt {attempt}.");
            return;
        }
        var path = CommandRunner.LogPath(home, id, attempt);
        if (!File.Exists(path))
        {
            await Text(context, "", "text/plain; charset=utf-8"); // the attempt printed nothing
            return;
        }
        context.Response.ContentType = "text/plain; charset=utf-8";
        await using var log = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        await log.CopyToAsync(context.Response.Body);
    }

    /// <summary>A finished job (dead or completed) back to pending, attempts 0, history kept.</summary>
    private async Task Retry(HttpExchange context, string id)
    {
        if (await InvalidId(context, id))
        {
            return;
        }
        var stored = new JobStore(home).Locate(id);
        if (stored is null)
        {
            await Error(context, 404, $"No job with id '{id}'.");
            return;
        }
        if (stored.State is not (JobState.Dead or JobState.Completed))
        {
            await Error(context, 404, $"No finished job '{id}' to retry: it is {stored.State} (only a dead or completed job is retried).");
            return;
        }
        if (!DeadLetterQueue.Revive(home, id, time.UtcNow(), stored.State))
        {
            await Error(context, 409, $"Job '{id}' moved while it was retried (another retry or a remove took it); look again.");
            return;
        }
        await Done(context, id, JobState.Pending, $"{id} retried: pending again");
    }

    /// <summary>
    /// Pending or failed: to dead/ now (JobControl.CancelResting). Running: a cancel request for its
    /// worker, and its processes on this host killed; the worker ends it as dead (202, look again).
    /// </summary>
    private async Task Cancel(HttpExchange context, string id)
    {
        if (await InvalidId(context, id))
        {
            return;
        }
        var store = new JobStore(home);
        for (var look = 0; look < 20; look++)
        {
            var stored = store.Locate(id) ?? store.Locate(id); // twice: failed/ → processing/ can slip between two looks
            if (stored is null)
            {
                await Error(context, 404, $"No job with id '{id}'.");
                return;
            }
            var reason = $"cancelled by the user (queuectl dashboard on host {Environment.MachineName} at {UtcTimestamp.ToText(time.UtcNow())})";
            switch (stored.State)
            {
                case JobState.Pending or JobState.Failed:
                    if (JobControl.CancelResting(home, stored, reason, time.UtcNow(), final => _hooks.Start(final)) == TakeOutcome.Done)
                    {
                        await Done(context, id, JobState.Dead, $"{id} cancelled: dead");
                        return;
                    }
                    break; // RACE: a worker claimed it first: look again
                case JobState.Completed or JobState.Dead:
                    await Error(context, 409, $"Job '{id}' is already finished ({stored.State}); nothing to cancel.");
                    return;
                default:
                    var worker = Path.GetFileName(Path.GetDirectoryName(stored.Path)!);
                    if (worker.StartsWith("cancel-", StringComparison.Ordinal) || CancelRequests.Write(home, worker, id, reason))
                    {
                        JobProcesses.KillAll(worker, id, Timing.DashboardKillWait, time);
                        context.Response.StatusCode = 202;
                        await Done(context, id, JobState.Processing, $"{id}: cancel requested; worker {worker} ends it as dead");
                        return;
                    }
                    break; // RACE: its worker's folder went: the job is elsewhere now
            }
            await Task.Delay(Timing.LookAgainStep * (look + 1), time);
        }
        await Error(context, 409, $"Job '{id}' kept moving; try again.");
    }

    /// <summary>Deletes a job that is not running, and its logs (JobControl.Remove).</summary>
    private async Task Remove(HttpExchange context, string id)
    {
        if (await InvalidId(context, id))
        {
            return;
        }
        var store = new JobStore(home);
        for (var look = 0; look < 20; look++)
        {
            var stored = store.Locate(id) ?? store.Locate(id);
            if (stored is null)
            {
                await Error(context, 404, $"No job with id '{id}'.");
                return;
            }
            if (stored.State == JobState.Processing)
            {
                await Error(context, 409, $"Job '{id}' is running; cancel it first.");
                return;
            }
            if (JobControl.Remove(home, stored) == TakeOutcome.Done)
            {
                await Done(context, id, "removed", $"{id} removed");
                return;
            }
            await Task.Delay(Timing.LookAgainStep * (look + 1), time); // RACE: it moved: look again
        }
        await Error(context, 409, $"Job '{id}' kept moving; try again.");
    }

    /// <summary>Every dead job back to pending; with ?queue=Q only that queue's (the file is read for its queue).</summary>
    private async Task RetryAll(HttpExchange context)
    {
        var queue = context.Request.Query("queue");
        if (queue.Length > 0 && !JobId.IsValid(queue))
        {
            await Error(context, 400, $"Invalid queue name '{queue}': a queue name is {JobId.Rule}.");
            return;
        }
        var ids = queue.Length == 0
            ? new JobStore(home).Files(JobState.Dead).Select(p => Path.GetFileNameWithoutExtension(p)).ToList()
            : new JobStore(home).ReadAll(JobState.Dead).Where(s => s.Job?.QueueName == queue).Select(s => s.Id).ToList();
        var retried = ids.Where(id => DeadLetterQueue.Revive(home, id, time.UtcNow())).ToList();
        await Json(context, w =>
        {
            w.WriteStartObject();
            if (queue.Length > 0)
            {
                w.WriteString("queue", queue);
            }
            w.WriteStartArray("retried");
            retried.ForEach(w.WriteStringValue);
            w.WriteEndArray();
            w.WriteString("message", $"{retried.Count} dead job{(retried.Count == 1 ? "" : "s")}{(queue.Length > 0 ? $" of queue {queue}" : "")} retried");
            w.WriteEndObject();
        });
    }

    private async Task HistoryOf(HttpExchange context)
    {
        var request = context.Request;
        var window = request.Query("window") is { Length: > 0 } given ? given : "1h";
        var queue = request.Query("queue");
        if (queue.Length > 0 && !JobId.IsValid(queue))
        {
            await Error(context, 400, $"Invalid queue name '{queue}': a queue name is {JobId.Rule}.");
            return;
        }
        var history = History.Take(home, window, queue.Length == 0 ? null : queue, time.UtcNow());
        if (history is null)
        {
            await Error(context, 400, $"Unknown window '{window}'; the windows are {string.Join(", ", History.Windows.Keys)}.");
            return;
        }
        await Json(context, history.Write);
    }

    /// <summary>
    /// Every queue that has unfinished jobs, a limit, a pause switch or finishes counted: its
    /// unfinished counts, limit and slots held, pause, the age of its oldest ready job, and its
    /// finishes (total, and in the last hour from the minute lines).
    /// </summary>
    private void Queues(Utf8JsonWriter w)
    {
        var now = time.UtcNow();
        var counts = QueueCounts.Take(home, now);
        var settings = ConfigStore.Load(home);
        var totals = CounterFiles.Sum(home);
        var lastHour = History.FinishesSince(home, now - TimeSpan.FromHours(1));
        var switches = PauseState.Read(home);
        var names = new SortedSet<string>(StringComparer.Ordinal) { QueueCtl.Jobs.Job.DefaultQueue };
        names.UnionWith(counts.Queues.Keys);
        names.UnionWith((settings.QueueConcurrency ?? []).Keys);
        names.UnionWith(totals.Keys);
        names.UnionWith(switches.Where(s => s.Queue is not null).Select(s => s.Queue!));
        w.WriteStartObject();
        w.WriteBoolean("all_paused", switches.Any(s => s.Queue is null));
        w.WriteStartArray("queues");
        foreach (var name in names)
        {
            var q = counts.Queues.GetValueOrDefault(name) ?? new PerQueue();
            w.WriteStartObject();
            w.WriteString("name", name);
            q.WriteCounts(w);
            if (settings.LimitOf(name) is { } limit)
            {
                w.WriteNumber("concurrency", limit);
            }
            else
            {
                w.WriteNull("concurrency");
            }
            w.WriteNumber("slots_held", QueueSlots.Held(home, name).Count);
            var paused = switches.FirstOrDefault(s => s.Queue == name);
            w.WriteBoolean("paused", paused is not null);
            if (paused?.PausedAt is { } since)
            {
                w.WriteString("paused_since", UtcTimestamp.ToText(since));
            }
            if (q.OldestReady is { } oldest)
            {
                w.WriteNumber("oldest_ready_seconds", Math.Round(Math.Max(0, (now - oldest).TotalSeconds), 1));
            }
            else
            {
                w.WriteNull("oldest_ready_seconds");
            }
            var total = totals.GetValueOrDefault(name) ?? QueueTotals.Zero;
            var hour = lastHour.GetValueOrDefault(name) ?? QueueTotals.Zero;
            w.WriteNumber("completed_total", total.Completed);
            w.WriteNumber("failed_total", total.Failed);
            w.WriteNumber("dead_total", total.Dead);
            w.WriteNumber("completed_last_hour", hour.Completed);
            w.WriteNumber("failed_last_hour", hour.Failed + hour.Dead);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private async Task PauseOrResume(HttpExchange context, string queue, bool pause)
    {
        if (!PauseState.IsValidQueue(queue))
        {
            await Error(context, 400, $"Invalid queue name '{queue}': a queue name is {JobId.Rule}.");
            return;
        }
        var changed = pause ? PauseState.Pause(home, queue, time.UtcNow()) : PauseState.Resume(home, queue);
        await Json(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("queue", queue);
            w.WriteBoolean("paused", pause);
            w.WriteBoolean("changed", changed);
            w.WriteString("message", $"queue {queue} {(pause ? "paused" : "resumed")}{(changed ? "" : " already")}");
            w.WriteEndObject();
        });
    }

    private static Task Done(HttpExchange context, string id, string state, string message) =>
        Json(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("state", state);
            w.WriteString("message", message);
            w.WriteEndObject();
        });

    private static async Task<bool> InvalidId(HttpExchange context, string id)
    {
        if (JobId.IsValid(id))
        {
            return false;
        }
        await Error(context, 400, $"Invalid id: an id is {JobId.Rule}.");
        return true;
    }

    private static async Task Json(HttpExchange context, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = PlainJsonEncoder.Instance }))
        {
            write(w);
        }
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers["Cache-Control"] = "no-store";
        await context.Response.Body.WriteAsync(buffer.ToArray());
    }

    private static async Task Text(HttpExchange context, string text, string contentType)
    {
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(text);
    }

    private static Task Error(HttpExchange context, int status, string message)
    {
        context.Response.StatusCode = status;
        return Json(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("error", message);
            w.WriteEndObject();
        });
    }
}
