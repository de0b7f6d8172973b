using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

[Parallelizable(ParallelScope.All)]
public class ConfigTests
{
    [TestCase("max-retries", "5", "5")]
    [TestCase("max_retries", "0", "0")]
    [TestCase("backoff-base", "3", "3")]
    [TestCase("backoff_base", "1.5", "1.5")]
    [TestCase("backoff-max", "2m", "120s")]
    [TestCase("job-timeout", "30s", "30s")]
    [TestCase("job_timeout", "0", "0s")]
    [TestCase("worker-lease", "1m", "60s")]
    [TestCase("worker_lease", "10", "10s")]
    [TestCase("log-max-size", "512K", "512K")]
    [TestCase("log_max_size", "1048576", "1M")]
    [TestCase("log-max-size", "2000", "2000")]
    public void Set_ThenGet_InEitherSpelling(string key, string value, string shown)
    {
        using var home = new TempHome();

        home.Ok("config", "set", key, value);

        Assert.That(home.Ok("config", "get", key), Is.EqualTo(shown + "\n"));
        Assert.That(home.Ok("config", "get", key.Replace('_', '-')), Is.EqualTo(shown + "\n"));
        Assert.That(File.ReadAllText(home.PathOf("config.json")), Does.Contain($"\"{key.Replace('-', '_')}\""));
    }

    [Test]
    public void DroppedFileWithoutMaxRetries_IsShownWithTheConfiguredOne_AsItsClaimWillGiveIt()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "max-retries", "5");
        File.WriteAllText(home.PathOf("tmp", "dropped.json"), """{"command":"false"}""");
        File.Move(home.PathOf("tmp", "dropped.json"), home.PathOf("pending", "dropped.json"));

        var listed = home.Json("list").EnumerateArray().Single();
        Assert.That(listed.GetProperty("max_retries").GetInt32(), Is.EqualTo(5));
        Assert.That(home.Ok("list"), Does.Match(@"dropped\s+pending\s+0/6"));
    }

    [Test]
    public void Settings_SurviveInConfigJson_AndListShowsThemAll()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "max-retries", "4");

        var list = home.Json("config", "list");

        Assert.That(list.GetProperty("max-retries").GetString(), Is.EqualTo("4"));
        Assert.That(list.EnumerateObject().Select(p => p.Name),
            Is.EqualTo(new[] { "max-retries", "backoff-base", "backoff-max", "job-timeout", "worker-lease", "log-max-size", "on-finish", "on-finish-timeout", "completed-retention", "dead-retention", "worker-log-max-size" }));
        Assert.That(home.Ok("config", "list"), Does.Match(@"max-retries\s+4\s"));
    }

    [TestCase("set", "colour", "red")]
    [TestCase("set", "max-retries", "-1")]
    [TestCase("set", "max-retries", "2.5")]
    [TestCase("set", "max-retries", "many")]
    [TestCase("set", "backoff-base", "0.5")]
    [TestCase("set", "backoff-max", "0s")]
    [TestCase("set", "job-timeout", "soon")]
    [TestCase("set", "worker-lease", "0")]
    [TestCase("set", "log-max-size", "10")]
    [TestCase("set", "log-max-size", "big")]
    [TestCase("get", "nope", null)]
    [TestCase("frobnicate", null, null)]
    public void BadKeysAndValues_AreRefused_AndChangeNothing(string action, string? key, string? value)
    {
        using var home = new TempHome();
        home.Ok("config", "set", "max-retries", "6");
        var before = home.Tree();

        var result = home.Run(new[] { "config", action, key, value }.OfType<string>().ToArray());

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(home.Tree(), Is.EqualTo(before));
    }
}
