using System.Diagnostics;
using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>enqueue --env K=V, --env K and --env-all: the caller's environment in the job's "env".</summary>
[Category("EndToEnd")]
public class EnvCaptureTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>queuectl run with extra variables in its environment, --home before any `--`.</summary>
    private static CliResult Enqueue(TempHome home, Dictionary<string, string?> environment, params string[] args) =>
        QueueCtlProcess.Run(["enqueue", "--home", home.Root, .. args], workingDirectory: home.Parent, environment: environment);

    private static Dictionary<string, string> EnvOf(JsonElement job) =>
        job.TryGetProperty("env", out var env)
            ? env.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!)
            : [];

    [Test]
    public void WithoutEnvFlags_TheCallersVariable_IsNotCaptured()
    {
        using var home = new TempHome(inProcess: false);

        var result = Enqueue(home, new() { ["FOO"] = "bar" }, "--id", "plain", "--command", "echo \"[$FOO]\"");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(EnvOf(home.ReadJob("pending", "plain")), Does.Not.ContainKey("FOO"));
    }

    [Test]
    public void EnvCopiedFromTheCaller_IsWhatTheJobSees_WhenAWorkerRunsIt()
    {
        using var home = new TempHome(inProcess: false);
        var enqueued = Enqueue(home, new() { ["FOO"] = "bar baz", ["SECRET"] = "s3cr=t" },
            "--id", "env", "--env", "FOO", "--env", "GREETING=hello=world", "--env=SECRET", "--", "sh", "-c", "echo \"$FOO|$GREETING|$SECRET\"");
        Assert.That(enqueued.ExitCode, Is.EqualTo(0), enqueued.ToString());
        Assert.That(EnvOf(home.ReadJob("pending", "env")), Is.EqualTo(new Dictionary<string, string>
        {
            ["FOO"] = "bar baz", ["GREETING"] = "hello=world", ["SECRET"] = "s3cr=t",
        }));

        using (new ForegroundWorker(home))
        {
            home.WaitForState("env", "completed", Deadline);
        }

        Assert.That(home.Ok("logs", "env"), Is.EqualTo("bar baz|hello=world|s3cr=t\n"));
    }

    [Test]
    public void EnvAll_CapturesTheWholeEnvironment_ButNotQueuectlsOwnVariables_AndWinsOverTheWorkers()
    {
        using var home = new TempHome(inProcess: false);
        var enqueued = Enqueue(home, new() { ["ONLY_HERE"] = "caller", ["QUEUECTL_JOB_ID"] = "outer-job", ["PATH"] = "/usr/bin:/bin:/caller/bin" },
            "--id", "all", "--env-all", "--command", "echo \"$ONLY_HERE|$QUEUECTL_JOB_ID|$PATH\"");
        Assert.That(enqueued.ExitCode, Is.EqualTo(0), enqueued.ToString());
        var env = EnvOf(home.ReadJob("pending", "all"));
        Assert.That(env, Does.ContainKey("ONLY_HERE").And.ContainKey("HOME").And.ContainKey("PWD"));
        Assert.That(env.Keys.Where(k => k.StartsWith("QUEUECTL_", StringComparison.Ordinal)), Is.Empty);
        Assert.That(env.Keys, Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));

        using (new ForegroundWorker(home))
        {
            home.WaitForState("all", "completed", Deadline);
        }

        Assert.That(home.Ok("logs", "all"), Is.EqualTo("caller|all|/usr/bin:/bin:/caller/bin\n"),
            "the worker sets QUEUECTL_JOB_ID itself; the caller's PATH is the job's");
    }

    [Test]
    public void Precedence_IsEnvAll_ThenTheJsonsEnv_ThenEachEnvFlag()
    {
        using var home = new TempHome(inProcess: false);

        var result = Enqueue(home, new() { ["A"] = "from-all", ["B"] = "from-all", ["C"] = "from-all" },
            "--env-all", "--env", "C=from-flag", """{"id":"p","command":"true","env":{"B":"from-json","C":"from-json"}}""");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var env = EnvOf(home.ReadJob("pending", "p"));
        Assert.That((env["A"], env["B"], env["C"]), Is.EqualTo(("from-all", "from-json", "from-flag")));
    }

    [Test]
    public void EnvFlags_ApplyToEachLineOfAFile()
    {
        using var home = new TempHome(inProcess: false);
        var file = Path.Combine(home.Parent, "jobs.jsonl");
        File.WriteAllText(file, "{\"id\":\"l1\",\"command\":\"true\"}\n{\"id\":\"l2\",\"command\":\"true\",\"env\":{\"K\":\"own\"}}\n");

        var result = Enqueue(home, new(), "--file", file, "--env", "K=flag", "--env", "L=1");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(EnvOf(home.ReadJob("pending", "l1")), Is.EqualTo(new Dictionary<string, string> { ["K"] = "flag", ["L"] = "1" }));
        Assert.That(EnvOf(home.ReadJob("pending", "l2")), Is.EqualTo(new Dictionary<string, string> { ["K"] = "flag", ["L"] = "1" }));
    }

    public static IEnumerable<TestCaseData> RefusedEnvFlags()
    {
        yield return new TestCaseData(new[] { "--env", "NOT_SET_ANYWHERE" },
            "queuectl: --env NOT_SET_ANYWHERE copies NOT_SET_ANYWHERE from this environment, where it is not set; give --env NOT_SET_ANYWHERE=VALUE instead.\n")
            .SetName("CopyOfAnUnsetVariable");
        yield return new TestCaseData(new[] { "--env", "=value" }, "queuectl: 'env' has an empty variable name.\n").SetName("EmptyName");
        yield return new TestCaseData(new[] { "--env", "" },
            "queuectl: --env needs a variable name: --env K=V, or --env K to copy K from this environment.\n").SetName("EmptyFlag");
        yield return new TestCaseData(new[] { "--env" }, "queuectl: option '--env' needs a value; see 'queuectl enqueue --help'.\n").SetName("NoValue");
    }

    [TestCaseSource(nameof(RefusedEnvFlags))]
    public void BadEnvFlag_IsRefusedInOneSentence_AndNothingIsEnqueued(string[] flags, string expected)
    {
        using var home = new TempHome(inProcess: false);
        var before = home.Tree();

        var result = Enqueue(home, new() { ["NOT_SET_ANYWHERE"] = null }, ["--command", "true", .. flags]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Is.EqualTo(expected));
        Assert.That(home.Tree(), Is.EqualTo(before));
    }

    [Test]
    public void JobFilesAndLogs_AreMode0600_InA0700Home_EvenWithAPermissiveUmask()
    {
        using var home = new TempHome(create: false, inProcess: false);
        // The umask of a careless shell: the files must still not be readable by others.
        var script = $"umask 000; {QueueCtlProcess.Executable} enqueue --home '{home.Root}' --id secret --env TOKEN=hunter2 --command 'echo out'";
        using (var shell = Process.Start(new ProcessStartInfo("sh", ["-c", script]) { UseShellExecute = false })!)
        {
            Assert.That(shell.WaitForExit(Deadline), Is.True);
            Assert.That(shell.ExitCode, Is.EqualTo(0));
        }
        using (new ForegroundWorker(home))
        {
            home.WaitForState("secret", "completed", Deadline);
        }

        var job = home.PathOf("completed", "secret.json");
        var log = Directory.EnumerateFiles(home.PathOf("logs"), "*", SearchOption.AllDirectories).Single(p => p.Contains("secret", StringComparison.Ordinal));
        Assert.That(Stat(home.Root), Is.EqualTo("700"));
        Assert.That(Stat(job), Is.EqualTo("600"));
        Assert.That(Stat(log), Is.EqualTo("600"));
    }

    private static string Stat(string path)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%a", path]) { RedirectStandardOutput = true })!;
        var mode = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return mode;
    }
}
