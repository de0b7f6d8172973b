using System.Text.Json;
using Microsoft.AspNetCore.Http;
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

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.ContentSecurityPolicy = "frame-ancestors 'none'";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Referrer-Policy"] = "no-referrer";
        if (!guard.AllowsHost(request.Host))
        {
            // Refused before anything is read: a DNS-rebinding page sends its own name here.
            response.StatusCode = StatusCodes.Status421MisdirectedRequest;
            await Text(context, guard.HostRefusal, "text/plain; charset=utf-8");
            return;
        }
        if (!RequestGuard.AllowsOrigin(request))
        {
            await Error(context, StatusCodes.Status403Forbidden, "Requests from another web origin are refused.");
            return;
        }
        var segments = (request.Path.Value ?? "/").Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments is ["api", ..] && !guard.HasToken(request))
        {
            await Error(context, StatusCodes.Status401Unauthorized,
                $"The API needs the token that `queuectl dashboard` printed at start, in the {RequestGuard.TokenHeader} header (open the printed link).");
            return;
        }
        var get = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method);
        var post = HttpMethods.IsPost(request.Method);
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
                case ["api", "dlq", "retry-all"] when post:
                    await RetryAll(context);
                    break;
                case [] or ["metrics"] or ["api", "status" or "workers" or "jobs"] or ["api", "jobs", _] or ["api", "jobs", _, "log" or "retry"]
                    or ["api", "dlq", "retry-all"]:
                    await Error(context, StatusCodes.Status405MethodNotAllowed, $"{request.Method} is not allowed here.");
                    break;
                default:
                    await Error(context, StatusCodes.Status404NotFound, "No such page.");
                    break;
            }
        }
        catch (Failure failure)
        {
            await Error(context, failure.ExitCode == Failure.InvalidUsage ? 400 : 409, failure.Message);
        }
    }

    private static async Task Page(HttpContext context)
    {
        await using var page = typeof(DashboardApi).Assembly.GetManifestResourceStream("dashboard.html")
            ?? throw new InvalidOperationException("The dashboard page is missing from the build.");
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
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

    private async Task Jobs(HttpContext context)
    {
        var query = context.Request.Query;
        var state = query["state"].ToString();
        if (!JobState.IsValid(state))
        {
            await Error(context, 400, $"Unknown state '{state}'; valid states are {string.Join(", ", JobState.All)}.");
            return;
        }
        JobFilter filter;
        try
        {
            var queue = query["queue"].ToString();
            filter = JobFilter.Create(queue.Length == 0 ? null : queue, query["label"].Where(v => !string.IsNullOrEmpty(v)).Select(v => v!), query["grep"].ToString(), source: "");
        }
        catch (Failure e)
        {
            await Error(context, 400, e.Message);
            return;
        }
        var newest = query["newest"].ToString() is "1" or "true";
        var offset = int.TryParse(query["offset"], out var o) && o >= 0 ? o : 0;
        var limit = int.TryParse(query["limit"], out var l) && l > 0 ? Math.Min(l, MaxPageSize) : 50;
        // Only the page's files are read (JobPage); with a filter, files in order until the page is full.
        var page = JobPage.Take(new JobStore(home), [state], filter, newest, offset, limit);
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

    private async Task Job(HttpContext context, string id)
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
        var attempts = CommandRunner.Runs(home, stored, id);
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

    private async Task Log(HttpContext context, string id)
    {
        if (await InvalidId(context, id))
        {
            return;
        }
        var attempts = CommandRunner.Runs(home, new JobStore(home).Locate(id), id);
        if (attempts.Count == 0)
        {
            await Text(context, "", "text/plain; charset=utf-8");
            return;
        }
        var attempt = int.TryParse(context.Request.Query["attempt"], out var a) ? a : attempts.Max();
        if (!attempts.Contains(attempt))
        {
            await Error(context, 404, $"Job '{id}' has no attempt {attempt}.");
            return;
        }
        var path = CommandRunner.LogPath(home, id, attempt);
        if (!File.Exists(path))
        {
            await Text(context, "", "text/plain; charset=utf-8"); // the run printed nothing
            return;
        }
        context.Response.ContentType = "text/plain; charset=utf-8";
        await using var log = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        await log.CopyToAsync(context.Response.Body);
    }

    private async Task Retry(HttpContext context, string id)
    {
        if (await InvalidId(context, id))
        {
            return;
        }
        if (!DeadLetterQueue.Revive(home, id, time.UtcNow()))
        {
            await Error(context, 404, $"No job '{id}' in the dead letter queue.");
            return;
        }
        await Json(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("state", JobState.Pending);
            w.WriteEndObject();
        });
    }

    private async Task RetryAll(HttpContext context)
    {
        var ids = new JobStore(home).Files(JobState.Dead).Select(p => Path.GetFileNameWithoutExtension(p)).ToList();
        var retried = ids.Where(id => DeadLetterQueue.Revive(home, id, time.UtcNow())).ToList();
        await Json(context, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("retried");
            retried.ForEach(w.WriteStringValue);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static async Task<bool> InvalidId(HttpContext context, string id)
    {
        if (JobId.IsValid(id))
        {
            return false;
        }
        await Error(context, 400, $"Invalid id: an id is {JobId.Rule}.");
        return true;
    }

    private static async Task Json(HttpContext context, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(w);
        }
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.Body.WriteAsync(buffer.ToArray());
    }

    private static async Task Text(HttpContext context, string text, string contentType)
    {
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(text);
    }

    private static Task Error(HttpContext context, int status, string message)
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
