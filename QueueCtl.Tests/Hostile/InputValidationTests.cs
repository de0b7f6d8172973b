using System.Diagnostics;
using System.Text;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Hostile;

/// <summary>
/// Hostile and unlucky input (issue 15): each is refused with one sentence (exit 2, nothing
/// written), quarantined to rejected/ when dropped, or handled; never a stack trace, nothing lost.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class InputValidationTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    // ---- 1. config.json with missing keys or values out of range ----

    [Test]
    public void ConfigJson_MissingKeys_TakeTheirDefaults()
    {
        using var home = new TempHome();
        File.WriteAllText(home.PathOf("config.json"), """{"max_retries":5}""");

        var list = home.Json("config", "list");

        Assert.That(list.GetProperty("max-retries").GetString(), Is.EqualTo("5"));
        Assert.That(list.GetProperty("worker-lease").GetString(), Is.EqualTo("30s"));
        Assert.That(list.GetProperty("log-max-size").GetString(), Is.EqualTo("10M"));
        Assert.That(list.GetProperty("backoff-base").GetString(), Is.EqualTo("2"));
        Assert.That(list.GetProperty("backoff-max").GetString(), Is.EqualTo("3600s"));
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void ConfigJson_OlderFileWithoutLogMaxSize_KeepsOutput()
    {
        using var home = new TempHome(inProcess: false);
        File.WriteAllText(home.PathOf("config.json"),
            """{"max_retries":3,"backoff_base":2,"backoff_max":3600,"job_timeout":0,"worker_lease":30}""");
        home.Ok("enqueue", "--command", "echo kept", "--id", "out");

        using (new ForegroundWorker(home))
        {
            home.WaitForState("out", "completed", Deadline);
        }

        Assert.That(File.ReadAllText(home.PathOf("logs", "out", "attempt-1.log")), Is.EqualTo("kept\n"));
    }

    [Test]
    public void ConfigJson_ValuesOutOfRange_FallBackToDefaults_AndConfigSaysSo()
    {
        using var home = new TempHome();
        File.WriteAllText(home.PathOf("config.json"),
            """{"max_retries":-3,"backoff_base":0,"backoff_max":1e300,"job_timeout":-1,"worker_lease":0,"log_max_size":0}""");

        var result = home.Run("config", "list", "--json");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        using var document = System.Text.Json.JsonDocument.Parse(result.Stdout);
        var list = document.RootElement;
        Assert.That(list.GetProperty("max-retries").GetString(), Is.EqualTo("3"));
        Assert.That(list.GetProperty("backoff-base").GetString(), Is.EqualTo("2"));
        Assert.That(list.GetProperty("backoff-max").GetString(), Is.EqualTo("3600s"));
        Assert.That(list.GetProperty("job-timeout").GetString(), Is.EqualTo("0s"));
        Assert.That(list.GetProperty("worker-lease").GetString(), Is.EqualTo("30s"));
        Assert.That(list.GetProperty("log-max-size").GetString(), Is.EqualTo("10M"));
        Assert.That(result.Stderr, Does.Contain("worker_lease").And.Contain("out of range"));
        Assert.That(home.Run("config", "get", "worker-lease").Stdout, Is.EqualTo("30s\n"));
    }

    // ---- 2. attempts / max_retries / backoff arithmetic ----

    [TestCase("""{"command":"false","attempts":2147483647,"max_retries":2147483647}""")]
    [TestCase("""{"command":"false","max_retries":1001}""")]
    [TestCase("""{"command":"false","max_retries":3,"attempts":5}""")]
    public void Enqueue_AttemptsOrMaxRetriesOutOfRange_IsRefused(string json)
    {
        using var home = new TempHome();
        var before = home.Tree();

        var result = home.Run("enqueue", json);

        AssertRefused(result, "max_retries");
        Assert.That(home.Tree(), Is.EqualTo(before));
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void Drop_HugeAttempts_IsRejected_AndTheWorkerGoesOn()
    {
        using var home = new TempHome(inProcess: false);
        DropAged(home, "huge.json", """{"command":"false","attempts":2147483647,"max_retries":2147483647}""");

        using var worker = new ForegroundWorker(home);
        Eventually.True(() => File.Exists(home.PathOf("rejected", "huge.json")), Deadline, "huge.json in rejected/");
        home.Ok("enqueue", "--command", "true", "--id", "after");
        home.WaitForState("after", "completed", Deadline);

        Assert.That(File.ReadAllText(home.PathOf("rejected", "huge.json.reason")), Does.Contain("max_retries"));
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void FailedFile_WithHugeAttempts_EndsDead_AndTheNextJobCompletes()
    {
        using var home = new TempHome(inProcess: false);
        // Written by hand (or by an older version) into failed/: read as queuectl wrote it, unvalidated.
        File.WriteAllText(home.PathOf("failed", "jam.json"), """
            {"id":"jam","command":"false","state":"failed","attempts":2147483647,"max_retries":2147483647,
             "created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","not_before":"2025-01-01T00:00:00Z"}
            """);

        using var worker = new ForegroundWorker(home);
        home.WaitForState("jam", "dead", Deadline);
        home.Ok("enqueue", "--command", "true", "--id", "after");
        home.WaitForState("after", "completed", Deadline);

        Assert.That(worker.Output, Does.Not.Contain("unexpected"), worker.Output);
    }

    [Test]
    public void Recover_JobWithHugeAttempts_OfADeadWorker_ExitsZero_AndTheJobEndsDead()
    {
        using var home = new TempHome();
        Directory.CreateDirectory(home.PathOf("processing", "w-gone"));
        File.WriteAllText(home.PathOf("processing", "w-gone", "jam.json"), """
            {"id":"jam","command":"false","state":"processing","attempts":2147483647,"max_retries":2147483647,
             "created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","worker_id":"w-gone",
             "started_at":"2025-01-01T00:00:00Z"}
            """);

        var result = home.Run("recover");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stderr, Does.Not.Contain("   at "));
        Assert.That(File.Exists(home.PathOf("dead", "jam.json")), Is.True, result.ToString());
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void HugeBackoffMax_IsRefused_AndARetryStillGetsASchedule()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("config", "set", "backoff-base", "100");

        AssertRefused(home.Run("config", "set", "backoff-max", "2000d"), "365d");

        home.Ok("config", "set", "backoff-max", "365d");
        home.Ok("enqueue", "--command", "false", "--id", "slowretry", "--max-retries", "1000");
        using var worker = new ForegroundWorker(home);
        home.WaitForState("slowretry", "failed", Deadline);
        Assert.That(home.ReadJob("failed", "slowretry").GetProperty("not_before").GetString(), Does.StartWith("20"));
    }

    // ---- 3. timeouts past CancelAfter's limit ----

    [Test]
    public void TimeoutOverTheMaximum_IsRefused_AtConfigSet_Enqueue_AndInJson()
    {
        using var home = new TempHome();
        var before = home.Tree();

        AssertRefused(home.Run("config", "set", "job-timeout", "50d"), "49d");
        AssertRefused(home.Run("enqueue", "--command", "true", "--timeout", "50d"), "49d");
        AssertRefused(home.Run("enqueue", """{"command":"true","timeout_seconds":5000000}"""), "49d");

        Assert.That(home.Tree(), Is.EqualTo(before));
        home.Ok("config", "set", "job-timeout", "49d");
        home.Ok("enqueue", "--command", "true", "--timeout", "49d");
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void Drop_TimeoutOverTheMaximum_IsRejected()
    {
        using var home = new TempHome(inProcess: false);
        DropAged(home, "longtimeout.json", """{"command":"echo no","timeout_seconds":5000000}""");

        using var worker = new ForegroundWorker(home);
        Eventually.True(() => File.Exists(home.PathOf("rejected", "longtimeout.json")), Deadline, "longtimeout.json in rejected/");

        Assert.That(File.ReadAllText(home.PathOf("rejected", "longtimeout.json.reason")), Does.Contain("49d"));
    }

    // ---- 4. durations that overflow DateTime ----

    [TestCase("enqueue", "--command", "true", "--delay", "3650000d")]
    [TestCase("purge", "--state", "completed", "--older-than", "3650000d")]
    [TestCase("stats", "--window", "3650000d")]
    [TestCase("worker", "stop", "--timeout", "3650000d")]
    public void HugeDuration_IsRefused_WithOneSentence(params string[] args)
    {
        using var home = new TempHome();
        var before = home.Tree();

        var result = home.Run(args);

        AssertRefused(result, "36500d");
        Assert.That(home.Tree(), Is.EqualTo(before));
    }

    // ---- 5. NUL, invalid UTF-8, bad env keys ----

    [TestCase("""{"command":"echo a\u0000rm -rf x"}""", "NUL")]
    [TestCase("""{"command":"env","env":{"K":"v\u0000w"}}""", "NUL")]
    [TestCase("""{"command":"env","env":{"A=B":"v"}}""", "'='")]
    [TestCase("""{"command":"env","env":{"":"v"}}""", "empty")]
    [TestCase("""{"command":"env","env":{"K\u0000":"v"}}""", "NUL")]
    [TestCase("""{"command":"true","cwd":"/tmp\u0000x"}""", "NUL")]
    public void Enqueue_NulOrBadEnvKey_IsRefused(string json, string reason)
    {
        using var home = new TempHome();
        var before = home.Tree();

        AssertRefused(home.Run("enqueue", json), reason);
        Assert.That(home.Tree(), Is.EqualTo(before));
    }

    [Category("EndToEnd"), NonParallelizable]
    [TestCase("enqueue --file \"$F\"")]
    [TestCase("enqueue - < \"$F\"")]
    [TestCase("enqueue \"$(cat \"$F\")\"")]
    [TestCase("enqueue --command \"$(printf 'echo \\377')\"")]
    public void Enqueue_InvalidUtf8_IsRefused(string how)
    {
        using var home = new TempHome(inProcess: false);
        var input = Path.Combine(home.Parent, "bad.jsonl");
        File.WriteAllBytes(input, [.. "{\"command\":\"echo "u8, 0xFF, 0xFE, .. "\"}\n"u8]);
        var before = home.Tree();

        var result = Shell(home, how, input);

        AssertRefused(result, "UTF-8");
        Assert.That(home.Tree(), Is.EqualTo(before));
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void Drop_InvalidUtf8_IsRejected_KeptByteForByte()
    {
        using var home = new TempHome(inProcess: false);
        byte[] content = [.. "{\"command\":\"echo "u8, 0xC3, 0x28, .. "\"}"u8];
        var path = home.PathOf("pending", "latin.json");
        File.WriteAllBytes(path, content);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-1));

        using var worker = new ForegroundWorker(home);
        Eventually.True(() => File.Exists(home.PathOf("rejected", "latin.json")), Deadline, "latin.json in rejected/");

        Assert.That(File.ReadAllBytes(home.PathOf("rejected", "latin.json")), Is.EqualTo(content));
        Assert.That(File.ReadAllText(home.PathOf("rejected", "latin.json.reason")), Does.Contain("UTF-8"));
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void Drop_NulInCommand_IsRejected()
    {
        using var home = new TempHome(inProcess: false);
        DropAged(home, "nul.json", """{"command":"echo a\u0000b"}""");

        using var worker = new ForegroundWorker(home);
        Eventually.True(() => File.Exists(home.PathOf("rejected", "nul.json")), Deadline, "nul.json in rejected/");

        Assert.That(File.ReadAllText(home.PathOf("rejected", "nul.json.reason")), Does.Contain("NUL"));
    }

    // ---- 6. commands longer than execve accepts ----

    [Test]
    public void Enqueue_CommandOverMaxArgStrlen_IsRefused_NamingTheLimit_AndOneByteLessIsAccepted()
    {
        using var home = new TempHome();
        var tooLong = """{"command":"echo """ + new string('x', 131072 - 5) + "\"}\n";
        var justFits = """{"id":"fits","command":"echo """ + new string('x', 131071 - 5) + "\"}\n";

        var refused = home.RunWithInput(tooLong, "enqueue", "-");
        var accepted = home.RunWithInput(justFits, "enqueue", "-");

        Assert.That(refused.ExitCode, Is.EqualTo(2), refused.ToString());
        Assert.That(refused.Stderr, Does.Contain("131071 bytes"));
        Assert.That(accepted.ExitCode, Is.EqualTo(0), accepted.ToString());
        Assert.That(home.Ids("pending"), Is.EqualTo(new[] { "fits" }));
    }

    [Test]
    public void Enqueue_CommandAndEnvOverTheExecLimit_IsRefused()
    {
        using var home = new TempHome();
        var env = string.Join(",", Enumerable.Range(0, 6).Select(i => $"\"K{i}\":\"{new string('v', 100_000)}\""));

        var result = home.RunWithInput("{\"command\":\"env\",\"env\":{" + env + "}}\n", "enqueue", "-");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("512K"));
        Assert.That(home.Ids("pending"), Is.Empty);
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void Drop_CommandOverMaxArgStrlen_IsRejected()
    {
        using var home = new TempHome(inProcess: false);
        DropAged(home, "long.json", """{"command":"echo """ + new string('x', 200_000) + "\"}");

        using var worker = new ForegroundWorker(home);
        Eventually.True(() => File.Exists(home.PathOf("rejected", "long.json")), Deadline, "long.json in rejected/");

        Assert.That(File.ReadAllText(home.PathOf("rejected", "long.json.reason")), Does.Contain("131071 bytes"));
    }

    // ---- 7. job file size cap ----

    [Test]
    public void Enqueue_LineOverOneMiB_IsRefused_OthersGoIn()
    {
        using var home = new TempHome();
        var big = """{"command":"true","meta":{"blob":" """ + new string('m', 1024 * 1024) + "\"}}";
        var input = """{"id":"small","command":"true"}""" + "\n" + big + "\n";

        var result = home.RunWithInput(input, "enqueue", "-");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("line 2").And.Contain("1M"));
        Assert.That(home.Ids("pending"), Is.EqualTo(new[] { "small" }));
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void Drop_FileOverOneMiB_IsRejectedUnread_AndTheWorkerGoesOn()
    {
        using var home = new TempHome(inProcess: false);
        var content = """{"command":"true","meta":{"blob":" """ + new string('m', 50 * 1024 * 1024) + "\"}}";
        DropAged(home, "huge.json", content);

        using var worker = new ForegroundWorker(home);
        Eventually.True(() => File.Exists(home.PathOf("rejected", "huge.json")), Deadline, "huge.json in rejected/");
        home.Ok("enqueue", "--command", "true", "--id", "after");
        home.WaitForState("after", "completed", Deadline);

        Assert.That(new FileInfo(home.PathOf("rejected", "huge.json")).Length, Is.EqualTo(content.Length), "kept whole");
        Assert.That(File.ReadAllText(home.PathOf("rejected", "huge.json.reason")), Does.Contain("1M"));
        Assert.That(ResidentMiB(worker.Process.Id), Is.LessThan(300), "the worker never read the 50 MB file");
    }

    // ---- 8. meta must be an object ----

    [TestCase("5")]
    [TestCase("\"text\"")]
    [TestCase("[1,2]")]
    public void Enqueue_MetaNotAnObject_IsRefused(string meta)
    {
        using var home = new TempHome();

        AssertRefused(home.Run("enqueue", $$"""{"command":"true","meta":{{meta}}}"""), "'meta' must be an object");
        Assert.That(home.Ids("pending"), Is.Empty);
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void Drop_MetaNotAnObject_IsRejected()
    {
        using var home = new TempHome(inProcess: false);
        DropAged(home, "meta.json", """{"command":"true","meta":5}""");

        using var worker = new ForegroundWorker(home);
        Eventually.True(() => File.Exists(home.PathOf("rejected", "meta.json")), Deadline, "meta.json in rejected/");

        Assert.That(File.ReadAllText(home.PathOf("rejected", "meta.json.reason")), Does.Contain("'meta' must be an object"));
    }

    // ---- 9. a corrupt config.json can be repaired with config set ----

    [Test]
    public void CorruptConfig_ConfigSetRepairsIt_KeepingTheOldContentAside()
    {
        using var home = new TempHome();
        File.WriteAllText(home.PathOf("config.json"), "{\"max_retries\": 5,");

        var result = home.Run("config", "set", "worker-lease", "10s");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Contain("config.json.corrupt-"));
        var kept = Directory.GetFiles(home.Root, "config.json.corrupt-*");
        Assert.That(kept, Has.Length.EqualTo(1));
        Assert.That(File.ReadAllText(kept[0]), Is.EqualTo("{\"max_retries\": 5,"));
        var list = home.Json("config", "list");
        Assert.That(list.GetProperty("worker-lease").GetString(), Is.EqualTo("10s"));
        Assert.That(list.GetProperty("max-retries").GetString(), Is.EqualTo("3"));
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void CorruptConfig_OtherCommandsSayHowToRepairIt()
    {
        using var home = new TempHome(inProcess: false);
        File.WriteAllText(home.PathOf("config.json"), "not json");

        var result = home.Run("enqueue", "--command", "true");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Contain("queuectl config set"));
        Assert.That(home.Ids("pending"), Is.Empty);
    }

    // ---- helpers ----

    private static void AssertRefused(CliResult result, string mentions)
    {
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Contain(mentions), result.ToString());
        Assert.That(result.Stderr, Does.Not.Contain("   at "), result.ToString());
    }

    /// <summary>Drops a file into pending/, aged so that it is not taken for a file still being written.</summary>
    private static void DropAged(TempHome home, string name, string content)
    {
        var path = home.PathOf("pending", name);
        File.WriteAllText(path, content);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-1));
    }

    /// <summary>Runs "queuectl ARGS" through sh, so that the arguments can hold raw bytes; $F names a file.</summary>
    private static CliResult Shell(TempHome home, string script, string file)
    {
        EndToEnd.Require("sh -c queuectl");
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = home.Parent,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"\"$QC\" {script} --home \"$QH\"");
        start.Environment["QC"] = QueueCtlProcess.Executable;
        start.Environment["QH"] = home.Root;
        start.Environment["F"] = file;
        start.Environment.Remove("QUEUECTL_HOME");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.That(process.WaitForExit(TimeSpan.FromSeconds(60)), Is.True);
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static double ResidentMiB(int pid)
    {
        var line = File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
    }
}
