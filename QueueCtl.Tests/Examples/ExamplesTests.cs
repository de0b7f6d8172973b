using System.Diagnostics;
using QueueCtl.Tests.Cli;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Examples;

/// <summary>Every file in examples/ is run here, so none of them can rot.</summary>
[Category("EndToEnd")]
public class ExamplesTests
{
    private static readonly string Examples = Path.Combine(WrapperScriptTests.FindRepoRoot(), "examples");

    private static (int ExitCode, string Output) Run(string program, IEnumerable<string> args, Dictionary<string, string>? env = null, string? stdin = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in env ?? [])
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} did not finish in 2 minutes.");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [Test]
    public void Demo_WalksThroughEveryScenario()
    {
        var (exitCode, output) = Run(Path.Combine(Examples, "demo.sh"), [], new() { ["QUEUECTL"] = QueueCtlProcess.Executable });

        Assert.That(exitCode, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("hello from queuectl"));
        Assert.That(output, Does.Match(@"attempt 3 started .*, exit 3 -> dead"));
        Assert.That(output, Does.Contain("flaky is pending again"));
        Assert.That(output, Does.Contain("3 jobs of 1 s done in about 1 s").Or.Contain("3 jobs of 1 s done in about 2 s"));
        Assert.That(output, Does.Contain("survived the restart"));
        Assert.That(output, Does.Contain("\ndemo: done\n"));
    }

    [Test]
    public void Producers_InBashAndPython_EnqueueByDroppingFiles()
    {
        using var home = new TempHome(inProcess: false);
        home.StartWorkers(1);

        var bash = Run(Path.Combine(Examples, "producer.sh"), [home.Root, "echo", "from bash"]);
        var python = Run("python3", [Path.Combine(Examples, "producer.py"), home.Root, "echo from python", "5"]);

        Assert.That(bash.ExitCode, Is.EqualTo(0), bash.Output);
        Assert.That(python.ExitCode, Is.EqualTo(0), python.Output);
        var bashId = bash.Output.Trim();
        var pythonId = python.Output.Trim();
        home.WaitForState(bashId, "completed", TimeSpan.FromSeconds(30));
        home.WaitForState(pythonId, "completed", TimeSpan.FromSeconds(30));
        Assert.That(home.Ok("logs", bashId), Is.EqualTo("from bash\n"));
        Assert.That(home.Ok("logs", pythonId), Is.EqualTo("from python\n"));
        Assert.That(home.ReadJob("completed", pythonId).GetProperty("priority").GetInt32(), Is.EqualTo(5));
        Assert.That(home.ReadJob("completed", bashId).GetProperty("meta").GetProperty("producer").GetString(), Is.EqualTo("producer.sh"));
    }

    [Test]
    public void JobFiles_Enqueue()
    {
        using var home = new TempHome(inProcess: false);

        home.Ok("enqueue", File.ReadAllText(Path.Combine(Examples, "hello.json")));
        var lines = home.Run("enqueue", "--file", Path.Combine(Examples, "jobs.jsonl"));

        Assert.That(lines.ExitCode, Is.EqualTo(0), lines.ToString());
        Assert.That(lines.Stdout, Does.Contain("Enqueued 3 jobs, refused 0 lines."));
        Assert.That(home.Json("status").GetProperty("pending").GetInt32(), Is.EqualTo(4));
        Assert.That(home.Json("status").GetProperty("scheduled").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public void SystemdUnit_RunsForegroundWorkers_RestartsOnFailure_StopsWithSigterm()
    {
        var unit = File.ReadAllText(Path.Combine(Examples, "queuectl-worker.service"));

        Assert.That(unit, Does.Contain("\nExecStart=/usr/local/bin/queuectl worker start --foreground --count 4\n"));
        Assert.That(unit, Does.Contain("\nRestart=on-failure\n"));
        Assert.That(unit, Does.Contain("\nKillSignal=SIGTERM\n"));
        Assert.That(unit, Does.Contain("\nType=simple\n").And.Contain("[Install]"));
        // The ExecStart line itself runs: the same arguments start a foreground worker that stops on SIGTERM.
        using var home = new TempHome(inProcess: false);
        using var worker = new ForegroundWorker(home, count: 4);
        Eventually.True(() => home.Json("worker", "list").GetArrayLength() == 4, TimeSpan.FromSeconds(30), "4 workers");
        Processes.Signal(worker.Process.Id, 15);
        Assert.That(worker.WaitForExit(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(worker.Process.ExitCode, Is.EqualTo(0));
    }

    [Test]
    public void Crontab_EnqueueLine_RunsAsWritten()
    {
        using var home = new TempHome(inProcess: false);
        var line = File.ReadAllLines(Path.Combine(Examples, "crontab")).Single(l => l.Contains("backup", StringComparison.Ordinal) && !l.StartsWith('#'));
        var command = string.Join(' ', line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(5))
            .Replace("/usr/local/bin/queuectl", QueueCtlProcess.Executable)
            .Replace("\\%", "%"); // cron's escape for %

        var first = Run("/bin/sh", ["-c", command], new() { ["QUEUECTL_HOME"] = home.Root });
        var second = Run("/bin/sh", ["-c", command], new() { ["QUEUECTL_HOME"] = home.Root });

        Assert.That(first.ExitCode, Is.EqualTo(0), first.Output);
        Assert.That(home.Ids("pending"), Is.EqualTo(new[] { $"backup-{DateTime.Now:yyyyMMdd}" }));
        Assert.That(second.ExitCode, Is.EqualTo(1), "the same day's backup is refused as a duplicate");
    }

    [Test]
    public void BashCompletion_IsGeneratedFromTheVerbs()
    {
        string Complete(string words, int index) =>
            Run("bash", ["-c", $"source <('{QueueCtlProcess.Executable}' completion bash); COMP_WORDS=({words}); COMP_CWORD={index}; _queuectl; echo \"${{COMPREPLY[*]}}\""]).Output.Trim();

        Assert.That(Complete("queuectl wo", 1), Is.EqualTo("worker"));
        Assert.That(Complete("queuectl d", 1), Is.EqualTo("dlq dashboard"));
        Assert.That(Complete("queuectl worker s", 2), Is.EqualTo("start stop"));
        Assert.That(Complete("queuectl list --st", 2), Is.EqualTo("--state"));
        Assert.That(Complete("queuectl list --state d", 3), Is.EqualTo("dead"));
        Assert.That(Complete("queuectl config get backoff", 3), Is.EqualTo("backoff-base backoff-max"));
        Assert.That(Complete("queuectl enqueue --ti", 2), Is.EqualTo("--timeout"));
    }
}
