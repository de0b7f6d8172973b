using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>
/// Most tests run the CLI in process (<see cref="QueueCtlInProcess"/>); these check that this seam
/// answers as the real executable does, and that the executable itself keeps the error contract:
/// one sentence on stderr, the documented exit code, no stack trace.
/// </summary>
[Category("EndToEnd")]
public class InProcessSeamTests
{
    public static IEnumerable<TestCaseData> Commands()
    {
        yield return new TestCaseData((object)new[] { "status" }).SetName("Status");
        yield return new TestCaseData((object)new[] { "status", "--json" }).SetName("StatusJson");
        yield return new TestCaseData((object)new[] { "config", "list" }).SetName("ConfigList");
        yield return new TestCaseData((object)new[] { "show", "a", "--json" }).SetName("Show");
        yield return new TestCaseData((object)new[] { "list", "--state", "nope" }).SetName("RefusedList");
    }

    [TestCaseSource(nameof(Commands))]
    public void InProcessRun_PrintsWhatTheExecutablePrints_WithTheSameExitCode(string[] args)
    {
        using var home = new TempHome();
        home.Ok("enqueue", "--command", "true", "--id", "a");
        home.Ok("enqueue", "--command", "true", "--id", "b");
        File.Move(home.PathOf("pending", "b.json"), home.PathOf("dead", "b.json"));

        var inProcess = home.Run(args);
        var executable = home.RunProcess(args);

        Assert.That(inProcess.ToString(), Is.EqualTo(executable.ToString()));
        Assert.That(inProcess.Stdout + inProcess.Stderr, Is.Not.Empty, "something was compared");
    }

    public static IEnumerable<TestCaseData> BadRequests()
    {
        yield return new TestCaseData(new[] { "frobnicate" }, 2).SetName("UnknownVerb");
        yield return new TestCaseData(new[] { "enqueue", "not json" }, 2).SetName("EnqueueNotJson");
        yield return new TestCaseData(new[] { "enqueue", "--command", "x", "--delay", "soon" }, 2).SetName("EnqueueBadDelay");
        yield return new TestCaseData(new[] { "show", "missing" }, 1).SetName("ShowMissing");
        yield return new TestCaseData(new[] { "dlq", "retry", "missing" }, 1).SetName("DlqRetryMissing");
    }

    [TestCaseSource(nameof(BadRequests))]
    public void TheExecutable_RefusesInOneSentence_WithTheDocumentedExitCode_AndChangesNothing(string[] args, int exitCode)
    {
        using var home = new TempHome(inProcess: false);
        home.Ok("enqueue", "--command", "true", "--id", "taken");
        var before = home.Tree();

        var result = home.Run(args);

        Assert.That(result.ExitCode, Is.EqualTo(exitCode), result.ToString());
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr, Does.Match(@"^queuectl: [^\n]+\.\n$"), "one sentence, no stack trace");
        Assert.That(home.Tree(), Is.EqualTo(before));
    }

    [Test]
    public void TheExecutable_OnAMissingHome_ExitsOne_InOneSentence()
    {
        using var home = new TempHome(create: false, inProcess: false);

        var result = home.Run("status");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Match(@"^queuectl: The queue home [^\n]+ does not exist; [^\n]+\.\n$"));
        Assert.That(home.Tree(), Is.Empty);
    }
}
