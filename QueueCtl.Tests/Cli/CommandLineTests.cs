using QueueCtl.Tests.Support;
using Snapshooter.NUnit;

namespace QueueCtl.Tests.Cli;

[Parallelizable(ParallelScope.All)]
public class CommandLineTests
{
    private static readonly string[] Verbs = ["init", "enqueue", "status", "list", "show", "logs", "worker", "dlq", "stats", "purge", "recover", "config", "dashboard", "completion"];

    [TestCaseSource(nameof(Verbs))]
    public void EveryVerb_AnswersHelp_OnStdout_WithExit0(string verb)
    {
        var result = QueueCtlInProcess.Run([verb, "--help"]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Does.Contain(verb == "completion" ? "shell" : "--home"));
        Assert.That(result.Stderr, Is.Empty);
    }

    [Test]
    public void Version_PrintsTheVersion()
    {
        var result = QueueCtlInProcess.Run(["--version"]);

        Assert.That(result.ExitCode, Is.EqualTo(0));
        Assert.That(result.Stdout, Does.Match(@"^queuectl \d+\.\d+\.\d+\n$"));
    }

    [Test]
    public void Help_Snapshot()
    {
        Snapshot.Match(QueueCtlInProcess.Run(["--help"]).Stdout);
    }

    [Test]
    public void EnqueueHelp_Snapshot()
    {
        Snapshot.Match(QueueCtlInProcess.Run(["enqueue", "--help"]).Stdout);
    }

    [Test]
    public void Status_Snapshot()
    {
        using var home = new TempHome();
        home.Ok("enqueue", "--command", "true", "--id", "a");
        home.Ok("enqueue", "--command", "true", "--id", "b");
        File.Move(home.PathOf("pending", "b.json"), home.PathOf("dead", "b.json"));

        Snapshot.Match(home.Ok("status"));
    }

    public static IEnumerable<TestCaseData> BadRequests()
    {
        yield return new TestCaseData(new[] { "frobnicate" }, 2).SetName("UnknownVerb");
        yield return new TestCaseData(new[] { "enqueue", "--bogus" }, 2).SetName("UnknownOption");
        yield return new TestCaseData(new[] { "enqueue" }, 2).SetName("EnqueueWithoutJob");
        yield return new TestCaseData(new[] { "enqueue", "{\"command\":\"x\"}", "--command", "y" }, 2).SetName("EnqueueTwoSources");
        yield return new TestCaseData(new[] { "enqueue", "{\"command\":\"x\",\"colour\":1}" }, 2).SetName("EnqueueUnknownKey");
        yield return new TestCaseData(new[] { "enqueue", "{\"command\":\"x\",\"id\":\"../up\"}" }, 2).SetName("EnqueueTraversalId");
        yield return new TestCaseData(new[] { "enqueue", "not json" }, 2).SetName("EnqueueNotJson");
        yield return new TestCaseData(new[] { "enqueue", "--command", "x", "--delay", "soon" }, 2).SetName("EnqueueBadDelay");
        yield return new TestCaseData(new[] { "enqueue", "--command", "x", "--run-at", "noon" }, 2).SetName("EnqueueBadRunAt");
        yield return new TestCaseData(new[] { "enqueue", "--command", "x", "--max-retries", "lots" }, 2).SetName("EnqueueBadMaxRetries");
        yield return new TestCaseData(new[] { "enqueue", "--file", "/nonexistent/jobs.jsonl" }, 2).SetName("EnqueueMissingFile");
        yield return new TestCaseData(new[] { "enqueue", "--command", "x", "--id", "taken" }, 1).SetName("EnqueueDuplicate");
        yield return new TestCaseData(new[] { "list", "--state", "nope" }, 2).SetName("ListUnknownState");
        yield return new TestCaseData(new[] { "list", "--limit", "-1" }, 2).SetName("ListNegativeLimit");
        yield return new TestCaseData(new[] { "show" }, 2).SetName("ShowWithoutId");
        yield return new TestCaseData(new[] { "show", "missing" }, 1).SetName("ShowMissing");
        yield return new TestCaseData(new[] { "config", "set", "max-retries" }, 2).SetName("ConfigSetWithoutValue");
    }

    [TestCaseSource(nameof(BadRequests))]
    public void BadRequest_GetsOneSentenceOnStderr_TheDocumentedCode_AndChangesNothing(string[] args, int exitCode)
    {
        using var home = new TempHome();
        home.Ok("enqueue", "--command", "true", "--id", "taken");
        var before = home.Tree();

        var result = home.Run(args);

        Assert.That(result.ExitCode, Is.EqualTo(exitCode), result.ToString());
        Assert.That(result.Stdout, Is.Empty);
        var lines = result.Stderr.TrimEnd('\n').Split('\n');
        Assert.That(lines, Has.Length.EqualTo(1), result.Stderr);
        Assert.That(lines[0], Does.StartWith("queuectl: ").And.EndWith("."));
        Assert.That(home.Tree(), Is.EqualTo(before));
    }
}
