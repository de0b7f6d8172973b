using System.Text.Json;
using System.Text.RegularExpressions;
using QueueCtl.Tests.Cli;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Dashboard;

/// <summary>examples/grafana-dashboard.json names only metrics that /metrics exports, with labels it sets.</summary>
[Category("EndToEnd")]
public partial class GrafanaTests
{
    [GeneratedRegex(@"\bqueuectl_[a-z_]+")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"\b(queue|state|quantile)\s*(=~|=|!=)")]
    private static partial Regex LabelMatcher();

    [GeneratedRegex(@"by \(([a-z_, ]+)\)")]
    private static partial Regex ByClause();

    [Test]
    public void EveryMetricInTheGrafanaDashboard_IsExported()
    {
        var file = Path.Combine(WrapperScriptTests.FindRepoRoot(), "examples", "grafana-dashboard.json");
        using var dashboard = JsonDocument.Parse(File.ReadAllText(file));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!)).ToList();
        using var home = new TempHome(inProcess: false);
        home.Ok("init");
        using var server = new DashboardProcess(home);
        var metrics = server.Anonymous.GetStringAsync("/metrics").Result;
        // Every exported sample name and the label names each one carries.
        var exported = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var line in metrics.Split('\n').Where(l => l.StartsWith("queuectl_", StringComparison.Ordinal)))
        {
            var name = MetricName().Match(line).Value;
            var labels = exported.TryGetValue(name, out var set) ? set : exported[name] = new HashSet<string>(StringComparer.Ordinal);
            foreach (Match m in Regex.Matches(line, @"([a-z_]+)="""))
            {
                labels.Add(m.Groups[1].Value);
            }
        }

        Assert.That(expressions, Has.Count.GreaterThanOrEqualTo(8));
        var named = expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);
        Assert.That(named, Is.SubsetOf(exported.Keys), "metrics the dashboard names that /metrics does not export");
        Assert.That(named, Is.SupersetOf(new[] { "queuectl_jobs_completed_total", "queuectl_attempts_failed_total", "queuectl_jobs", "queuectl_oldest_pending_age_seconds", "queuectl_attempt_duration_seconds" }),
            "rates, failures, depth, latency and durations are all there");
        foreach (var expression in expressions)
        {
            var labelsUsed = LabelMatcher().Matches(expression).Select(m => m.Groups[1].Value)
                .Concat(ByClause().Matches(expression).SelectMany(m => m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries))).Distinct();
            var labelsOffered = MetricName().Matches(expression).SelectMany(m => exported.GetValueOrDefault(m.Value) ?? []).ToHashSet();
            Assert.That(labelsUsed, Is.SubsetOf(labelsOffered), expression);
        }
    }
}
