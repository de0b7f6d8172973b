using System.Diagnostics;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Processing;

/// <summary>Enqueue by dropping files into pending/, as any program may.</summary>
[Category("EndToEnd")]
public class DropTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Test]
    public void PlainCp_IntoPending_Runs()
    {
        using var home = new TempHome(inProcess: false);
        home.StartWorkers(1);
        var source = Path.Combine(home.Parent, "copied.json");
        File.WriteAllText(source, """{"command":"echo copied","priority":3,"meta":{"from":"cp"}}""");

        using (var cp = Process.Start("cp", [source, home.PathOf("pending", "copied.json")]))
        {
            cp.WaitForExit();
        }
        home.WaitForState("copied", "completed", Deadline);

        var job = home.ReadJob("completed", "copied");
        Assert.That(job.GetProperty("priority").GetInt32(), Is.EqualTo(3));
        Assert.That(job.GetProperty("meta").GetProperty("from").GetString(), Is.EqualTo("cp"));
        Assert.That(File.ReadAllText(home.PathOf("logs", "copied", "attempt-1.log")), Is.EqualTo("copied\n"));
    }

    [Test]
    public void FileStillBeingWritten_IsNotRejected_AndRunsOnceComplete()
    {
        using var home = new TempHome(inProcess: false);
        home.StartWorkers(1);
        var path = home.PathOf("pending", "slow.json");

        using (var writer = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read))
        {
            writer.Write("{\"command\":\"echo sl"u8);
            writer.Flush();
            // The scenario itself: a slow writer pauses mid-file for a second.
            Thread.Sleep(TimeSpan.FromSeconds(1));
            writer.Write("ow\"}"u8);
        }
        home.WaitForState("slow", "completed", Deadline);

        Assert.That(Directory.EnumerateFileSystemEntries(home.PathOf("rejected")), Is.Empty);
    }

    [TestCase("notjson.json", "this is not json", "not valid JSON")]
    [TestCase("array.json", "[1,2,3]", "must be a JSON object")]
    [TestCase("nocommand.json", """{"id":"nocommand"}""", "non-empty 'command'")]
    [TestCase("badid.json", """{"id":"a b","command":"true"}""", "Invalid id")]
    [TestCase("bad name.json", """{"command":"true"}""", "Invalid id")]
    [TestCase("unknown.json", """{"command":"true","retries":2}""", "Unknown key 'retries'")]
    [TestCase("empty.json", "", "not valid JSON")]
    public void InvalidFile_MovesToRejected_WithAReason_AndTheWorkerGoesOn(string name, string content, string reason)
    {
        using var home = new TempHome(inProcess: false);
        var ids = home.StartWorkers(1);
        var path = home.PathOf("pending", name);
        File.WriteAllText(path, content);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-1)); // aged: not a file still being written

        Eventually.True(() => File.Exists(home.PathOf("rejected", name)), Deadline, $"{name} in rejected/");
        home.Ok("enqueue", "--command", "true", "--id", "after");
        home.WaitForState("after", "completed", Deadline);

        Assert.That(File.ReadAllText(home.PathOf("rejected", name)), Is.EqualTo(content), "kept byte for byte");
        Assert.That(File.ReadAllText(home.PathOf("rejected", name + ".reason")), Does.Contain(reason));
        Assert.That(Processes.IsAlive(WorkerFiles.Pid(home, ids[0])), Is.True);
        Assert.That(home.Json("status").GetProperty("rejected").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public void DuplicateIdDropped_IsRejected_NotRunTwice()
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "true", "--id", "taken");
        home.StartWorkers(1);
        home.WaitForState("taken", "completed", Deadline);

        File.WriteAllText(home.PathOf("pending", "again.json"), """{"id":"taken","command":"echo second"}""");

        Eventually.True(() => File.Exists(home.PathOf("rejected", "again.json")), Deadline, "the duplicate in rejected/");
        Assert.That(File.ReadAllText(home.PathOf("rejected", "again.json.reason")), Does.Contain("already exists in completed/"));
        Assert.That(home.ReadJob("completed", "taken").GetProperty("command").GetString(), Is.EqualTo("true"));
    }

    [Test]
    public void HiddenAndTmpNames_AreIgnored()
    {
        using var home = new TempHome(inProcess: false);
        // .nfs…: what an NFS client leaves for a file deleted while open.
        var ignored = new[] { ".hidden.json", ".nfs000000000123456700000001", "partial.json.tmp", "other.tmp", "notes.txt" };
        foreach (var name in ignored)
        {
            var path = home.PathOf("pending", name);
            File.WriteAllText(path, """{"command":"touch ran-ignored","priority":5}""");
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-1));
        }
        // A valid job of lower priority: were any ignored file taken for a job, it would run first.
        home.Ok("enqueue", "--command", "true", "--id", "sentinel", "--priority", "-5");

        home.StartWorkers(1);
        home.WaitForState("sentinel", "completed", Deadline);

        Assert.That(File.Exists(Path.Combine(home.Root, "ran-ignored")), Is.False);
        Assert.That(Directory.GetFiles(home.PathOf("pending")).Select(Path.GetFileName).Order(), Is.EqualTo(ignored.Order()));
        Assert.That(Directory.EnumerateFileSystemEntries(home.PathOf("rejected")), Is.Empty);
    }
}
