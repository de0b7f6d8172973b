using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>
/// The binary that `./queuectl` builds (NativeAOT when clang is installed, as on CI): trimming
/// must not break CommandLineParser's verbs or the source-generated JSON. Drives every verb once.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable] // publishes queuectl: CPU-bound
public class PublishedBinaryTests
{
    [Test]
    public void WrapperBuiltBinary_RunsEveryVerb()
    {
        var repo = WrapperScriptTests.FindRepoRoot();
        var wrapper = Path.Combine(repo, "queuectl");
        using var home = new TempHome(create: false, inProcess: false);
        CliResult Run(params string[] args) => QueueCtlProcess.Run([.. args, "--home", home.Root], executable: wrapper, timeout: TimeSpan.FromMinutes(5));
        string Ok(params string[] args)
        {
            var result = Run(args);
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            return result.Stdout;
        }

        Assert.That(QueueCtlProcess.Run(["--version"], executable: wrapper, timeout: TimeSpan.FromMinutes(5)).Stdout, Does.StartWith("queuectl "));
        var aot = !File.Exists(Path.Combine(repo, "QueueCtl", "bin", "run", "queuectl.dll"));
        TestContext.Out.WriteLine(aot ? "NativeAOT build" : "JIT build (no clang)");
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.That(aot, Is.True, "CI installs clang, so the wrapper must build NativeAOT");
        }

        Assert.That(Ok("--help"), Does.Contain("enqueue").And.Contain("worker"));
        Assert.That(Ok("enqueue", "--help"), Does.Contain("--max-retries"));
        Ok("init");
        Assert.That(Ok("enqueue", """{"id":"a","command":"echo aot","meta":{"n":[1,{"x":true}]},"env":{"K":"V"}}"""), Is.EqualTo("a\n"));
        Ok("enqueue", "--command", "exit 4", "--id", "b", "--max-retries", "0", "--priority", "2");
        var refused = Run("enqueue", """{"command":"x","colour":1}""");
        Assert.That(refused.ExitCode, Is.EqualTo(2));
        Assert.That(refused.Stderr, Does.Contain("Unknown key 'colour'"));
        Ok("config", "set", "backoff_base", "1.5");
        Assert.That(Ok("config", "get", "backoff-base"), Is.EqualTo("1.5\n"));
        using (var list = JsonDocument.Parse(Ok("list", "--json")))
        {
            Assert.That(list.RootElement.GetArrayLength(), Is.EqualTo(2));
            Assert.That(list.RootElement[0].GetProperty("meta").GetProperty("n")[1].GetProperty("x").GetBoolean(), Is.True);
        }

        Ok("worker", "start", "--count", "1");
        home.WaitForState("a", "completed", TimeSpan.FromSeconds(30));
        home.WaitForState("b", "dead", TimeSpan.FromSeconds(30));
        Assert.That(Ok("worker", "list"), Does.Contain("idle"));
        Ok("worker", "stop");

        Assert.That(Ok("logs", "a"), Is.EqualTo("aot\n"));
        using (var status = JsonDocument.Parse(Ok("status", "--json")))
        {
            Assert.That(status.RootElement.GetProperty("completed").GetInt32(), Is.EqualTo(1));
            Assert.That(status.RootElement.GetProperty("dead").GetInt32(), Is.EqualTo(1));
        }
        Assert.That(Ok("show", "a"), Does.Contain("\"exit_code\": 0"));
        Assert.That(Ok("dlq", "list"), Does.Contain("exit code 4"));
        Assert.That(Ok("dlq", "retry", "b"), Does.Contain("pending again"));
        using (var stats = JsonDocument.Parse(Ok("stats", "--json")))
        {
            Assert.That(stats.RootElement.GetProperty("finished").GetInt32(), Is.EqualTo(1));
        }
        Assert.That(Ok("purge", "--state", "completed"), Does.Contain("Purged 1"));
        Assert.That(Ok("recover"), Does.Contain("Nothing to recover"));
        Assert.That(QueueCtlProcess.Run(["completion", "bash"], executable: wrapper).Stdout, Does.Contain("worker) if").And.Contain("--max-retries"));

        // The dashboard (ASP.NET Core's slim builder) under the same build.
        using var dashboard = new DashboardProcess(home, wrapper);
        using (var status = JsonDocument.Parse(dashboard.Client.GetStringAsync("/api/status").Result))
        {
            Assert.That(status.RootElement.GetProperty("pending").GetInt32(), Is.EqualTo(1));
        }
        Assert.That(dashboard.Client.GetStringAsync("/metrics").Result, Does.Contain("queuectl_jobs{state=\"ready\"} 1"));
        Assert.That(dashboard.Client.GetStringAsync("/").Result, Does.Contain("<title>queuectl</title>"));
    }
}
