using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

[Parallelizable(ParallelScope.All)]
public class EnqueueTests
{
    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void EnqueueJson_PrintsTheId_AndWritesAPendingJobFile()
    {
        using var home = new TempHome(inProcess: false);

        var stdout = home.Ok("enqueue", """{"id":"job1","command":"sleep 2","meta":{"owner":"ann"}}""");

        Assert.That(stdout, Is.EqualTo("job1\n"));
        var job = home.ReadJob("pending", "job1");
        Assert.Multiple(() =>
        {
            Assert.That(job.GetProperty("command").GetString(), Is.EqualTo("sleep 2"));
            Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("pending"));
            Assert.That(job.GetProperty("attempts").GetInt32(), Is.EqualTo(0));
            Assert.That(job.GetProperty("max_retries").GetInt32(), Is.EqualTo(3));
            Assert.That(job.GetProperty("cwd").GetString(), Is.EqualTo(home.Parent));
            Assert.That(job.GetProperty("meta").GetProperty("owner").GetString(), Is.EqualTo("ann"));
            Assert.That(Directory.EnumerateFileSystemEntries(home.PathOf("tmp")), Is.Empty);
        });
    }

    [Test]
    public void EnqueueCommand_TakesEveryFlag()
    {
        using var home = new TempHome();
        var before = DateTime.UtcNow;

        home.Ok("enqueue", "--command", "echo hi", "--id", "flags", "--max-retries", "7", "--priority", "5",
            "--delay", "10m", "--timeout", "30s");
        home.Ok("enqueue", "--command", "true", "--id", "at", "--run-at", "2030-01-02T03:04:05Z");

        var job = home.ReadJob("pending", "flags");
        Assert.Multiple(() =>
        {
            Assert.That(job.GetProperty("max_retries").GetInt32(), Is.EqualTo(7));
            Assert.That(job.GetProperty("priority").GetInt32(), Is.EqualTo(5));
            Assert.That(job.GetProperty("timeout_seconds").GetDouble(), Is.EqualTo(30));
            var notBefore = job.GetProperty("not_before").GetDateTime().ToUniversalTime();
            Assert.That(notBefore, Is.EqualTo(before.AddMinutes(10)).Within(TimeSpan.FromSeconds(30)));
            Assert.That(home.ReadJob("pending", "at").GetProperty("not_before").GetString(), Is.EqualTo("2030-01-02T03:04:05.000Z"));
        });
    }

    [Test]
    public void MaxRetries_DefaultsFromConfig()
    {
        using var home = new TempHome();
        home.Ok("config", "set", "max-retries", "9");

        home.Ok("enqueue", """{"id":"j","command":"true"}""");

        Assert.That(home.ReadJob("pending", "j").GetProperty("max_retries").GetInt32(), Is.EqualTo(9));
    }

    [TestCase("pending")]
    [TestCase("completed")]
    [TestCase("failed")]
    [TestCase("dead")]
    [TestCase("processing")]
    public void DuplicateId_IsRefused_InAnyState(string state)
    {
        using var home = new TempHome();
        home.Ok("enqueue", """{"id":"dup","command":"true"}""");
        if (state != "pending")
        {
            var target = state == "processing" ? home.PathOf("processing", "w1", "dup.json") : home.PathOf(state, "dup.json");
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Move(home.PathOf("pending", "dup.json"), target);
        }
        var before = home.Tree();

        var result = home.Run("enqueue", """{"id":"dup","command":"echo again"}""");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Contain("already exists").And.Contain(state));
        Assert.That(home.Tree(), Is.EqualTo(before));
    }

    [Test]
    public void JsonLines_FromFile_EnqueuesEachValidLine_AndReportsTheOthers()
    {
        using var home = new TempHome();
        var file = Path.Combine(home.Parent, "jobs.jsonl");
        File.WriteAllText(file, """
            {"id":"a","command":"true"}

            {"id":"b","command":"true","priority":2}
            {"id":"a","command":"again"}
            {"command":"x","bogus":1}
            """);

        var result = home.Run("enqueue", "--file", file);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stdout, Is.EqualTo("Enqueued 2 jobs, refused 2 lines.\n"));
        Assert.That(result.Stderr, Does.Contain("line 4:").And.Contain("line 5:"));
        Assert.That(Directory.GetFiles(home.PathOf("pending")).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "a.json", "b.json" }));
    }

    [Test]
    public void JsonLines_FromStdin_WithJsonSummary()
    {
        using var home = new TempHome();

        var result = home.RunWithInput("{\"id\":\"s1\",\"command\":\"true\"}\n{\"id\":\"s2\",\"command\":\"true\"}\n", "enqueue", "-", "--json");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        using var summary = JsonDocument.Parse(result.Stdout);
        Assert.That(summary.RootElement.GetProperty("enqueued").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "s1", "s2" }));
        Assert.That(summary.RootElement.GetProperty("refused").GetArrayLength(), Is.EqualTo(0));
        Assert.That(File.Exists(home.PathOf("pending", "s2.json")), Is.True);
    }

    [Test]
    public void GeneratedIds_AreUnique_AcrossManyEnqueues()
    {
        using var home = new TempHome();
        var lines = string.Join('\n', Enumerable.Range(0, 200).Select(i => $"{{\"command\":\"echo {i}\"}}"));

        var result = home.RunWithInput(lines, "enqueue", "-");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(Directory.GetFiles(home.PathOf("pending")), Has.Length.EqualTo(200));
    }
}

[Category("EndToEnd")]
public class EnqueueProgressTests
{
    private static string OnTerminal(string command)
    {
        var start = new System.Diagnostics.ProcessStartInfo("script") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-qec", command, "/dev/null" })
        {
            start.ArgumentList.Add(arg);
        }
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output;
    }

    [Test]
    public void BulkEnqueue_ShowsACountOnATerminal_AndIsQuietInScriptsOrWithQuiet()
    {
        using var home = new TempHome(inProcess: false);
        var file = Path.Combine(home.Parent, "many.jsonl");
        File.WriteAllLines(file, Enumerable.Range(0, 250).Select(i => $"{{\"command\":\"echo {i}\"}}"));
        var exe = QueueCtlProcess.Executable;

        var terminal = OnTerminal($"'{exe}' enqueue --file '{file}' --home '{home.Root}'");
        var quiet = OnTerminal($"'{exe}' enqueue --file '{file}' --home '{home.Root}' --quiet");
        var piped = home.Run("enqueue", "--file", file);

        Assert.That(terminal, Does.Contain("enqueued 200 of 250 lines").And.Contain("Enqueued 250 jobs"));
        Assert.That(quiet, Does.Not.Contain("enqueued 100 of").And.Contain("Enqueued 250 jobs, refused 0 lines."));
        Assert.That(piped.Stderr, Does.Not.Contain("enqueued 100 of"));
    }
}
