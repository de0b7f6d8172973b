using System.Text.Json;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>The conventions every verb follows (README.md, "Usage"), through the real CLI.</summary>
[Parallelizable(ParallelScope.All)]
public class ConventionsTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Test]
    public void GlobalOptions_BeforeTheVerb_AreTheSameAsAfterIt()
    {
        using var home = new TempHome();
        home.Ok("enqueue", "--command", "true", "--id", "a");

        var after = QueueCtlInProcess.Run(["status", "--home", home.Root, "--json"]);
        var before = QueueCtlInProcess.Run(["--home", home.Root, "--json", "status"]);
        var equalsForm = QueueCtlInProcess.Run(["--json", $"--home={home.Root}", "status"]);

        Assert.That(after.ExitCode, Is.EqualTo(0), after.ToString());
        Assert.That(before.ToString(), Is.EqualTo(after.ToString()));
        Assert.That(equalsForm.ToString(), Is.EqualTo(after.ToString()));
        using var status = JsonDocument.Parse(before.Stdout);
        Assert.That(status.RootElement.GetProperty("pending").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public void GlobalOptions_BeforeAVerbWithAnAction_KeepTheActionInPlace()
    {
        using var home = new TempHome();

        var result = QueueCtlInProcess.Run(["--quiet", "--home", home.Root, "--json", "worker", "list"]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        using var workers = JsonDocument.Parse(result.Stdout);
        Assert.That(workers.RootElement.ValueKind, Is.EqualTo(JsonValueKind.Array));
    }

    [Test]
    public void GlobalOption_BeforeAVerbThatDoesNotTakeIt_IsRefusedLikeAfterIt()
    {
        var before = QueueCtlInProcess.Run(["--json", "init", "--home", "/nonexistent/x"]);
        var after = QueueCtlInProcess.Run(["init", "--json", "--home", "/nonexistent/x"]);

        Assert.That(before.ExitCode, Is.EqualTo(2));
        Assert.That(before.Stderr, Is.EqualTo(after.Stderr).And.Contain("unknown option '--json'"));
    }

    [TestCase("-h")]
    [TestCase("--help")]
    [TestCase("help")]
    public void VerbHelp_InEachSpelling_PrintsThatVerbsHelp_OnStdout_WithExit0(string spelling)
    {
        string[] args = spelling == "help" ? ["help", "list"] : ["list", spelling];

        var result = QueueCtlInProcess.Run(args);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stderr, Is.Empty);
        Assert.That(result.Stdout, Does.Contain("--state=S").And.Contain("--limit=N"));
        Assert.That(result.Stdout, Does.Not.Contain("enqueue "), "the verb's page, not the list of commands");
        Assert.That(result.Stdout, Is.EqualTo(QueueCtlInProcess.Run(["list", "--help"]).Stdout));
    }

    [Test]
    public void HelpOfAVerbWithAnAction_AndTopLevelHelpSpellings_AllAnswer()
    {
        var worker = QueueCtlInProcess.Run(["help", "worker"]);
        var top = QueueCtlInProcess.Run(["-h"]);
        var bare = QueueCtlInProcess.Run(["help"]);
        var unknown = QueueCtlInProcess.Run(["help", "frobnicate"]);

        Assert.That(worker.ExitCode, Is.EqualTo(0));
        Assert.That(worker.Stdout, Does.Contain("--foreground"));
        Assert.That(top.ExitCode, Is.EqualTo(0));
        Assert.That(top.Stdout, Is.EqualTo(QueueCtlInProcess.Run(["--help"]).Stdout));
        Assert.That(bare.Stdout, Is.EqualTo(top.Stdout));
        Assert.That(unknown.ExitCode, Is.EqualTo(2));
        Assert.That(unknown.Stderr, Does.Contain("unknown command 'frobnicate'"));
    }

    [Test]
    public void ListState_IsListDashDashState()
    {
        using var home = new TempHome();
        home.Ok("enqueue", "--command", "true", "--id", "waiting");
        home.Ok("enqueue", "--command", "true", "--id", "gone");
        File.Move(home.PathOf("pending", "gone.json"), home.PathOf("dead", "gone.json"));

        var positional = home.Json("list", "pending");
        var option = home.Json("list", "--state", "pending");

        Assert.That(positional.GetArrayLength(), Is.EqualTo(1));
        Assert.That(positional[0].GetProperty("id").GetString(), Is.EqualTo("waiting"));
        Assert.That(positional.ToString(), Is.EqualTo(option.ToString()));
        Assert.That(home.Ok("list", "dead"), Does.Contain("gone").And.Not.Contain("waiting"));
    }

    [Test]
    public void ListUnknownState_IsRefused_NamingTheValidOnes()
    {
        using var home = new TempHome();

        var result = home.Run("list", "pendng");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr, Is.EqualTo("queuectl: Unknown state 'pendng'; valid states are pending, processing, completed, failed, dead.\n"));
    }

    [Test]
    public void Init_CreatesMissingParents_LikeMkdirP()
    {
        using var scratch = new TempHome(create: false);
        var deep = Path.Combine(scratch.Parent, "a", "b", "home");

        var result = QueueCtlInProcess.Run(["init", "--home", deep]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(Directory.Exists(Path.Combine(deep, "pending")), Is.True);
        Assert.That(File.GetUnixFileMode(deep), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
    }

    public static IEnumerable<string[]> ReadingCommands()
    {
        yield return ["status"];
        yield return ["list"];
        yield return ["list", "pending"];
        yield return ["show", "some-id"];
        yield return ["logs", "some-id"];
        yield return ["dlq", "list"];
        yield return ["dlq", "retry", "some-id"];
        yield return ["stats"];
        yield return ["purge", "--state", "completed"];
        yield return ["recover"];
        yield return ["worker", "list"];
        yield return ["worker", "stop"];
        yield return ["config", "list"];
    }

    [TestCaseSource(nameof(ReadingCommands))]
    public void CommandOnAMissingHome_SaysItDoesNotExist_InOneSentence_AndDoesNotCreateIt(string[] args)
    {
        using var home = new TempHome(create: false);

        var result = home.Run(args);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr, Is.EqualTo(
            $"queuectl: The queue home {home.Root} does not exist; create it with `queuectl init --home {home.Root}` (enqueue and worker start also create it).\n"));
        Assert.That(home.Tree(), Is.Empty, "nothing created");
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void CommandOnAMissingDefaultHome_SuggestsPlainInit()
    {
        using var scratch = new TempHome(create: false, inProcess: false);
        var missing = Path.Combine(scratch.Parent, "env-home");

        var result = QueueCtlProcess.Run(["status"], environment: new Dictionary<string, string?> { ["QUEUECTL_HOME"] = missing });

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Stderr, Does.Contain($"{missing} does not exist").And.Contain("`queuectl init`"));
        Assert.That(Directory.Exists(missing), Is.False);
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void EnqueueAfterDashDash_RunsExactlyThoseWords()
    {
        using var home = new TempHome(inProcess: false);
        // --home before '--': after it, it would be a word of the command.
        var enqueued = QueueCtlProcess.Run(["enqueue", "--home", home.Root, "--id", "words", "--", "printf", "%s\\n", "a b", "it's", "$HOME", "", "x;y"]);
        Assert.That(enqueued.ExitCode, Is.EqualTo(0), enqueued.ToString());
        var id = enqueued.Stdout.Trim();
        var job = home.ReadJob("pending", id);
        Assert.That(job.GetProperty("command").GetString(), Is.EqualTo(@"printf '%s\n' 'a b' 'it'\''s' '$HOME' '' 'x;y'"));

        using (new ForegroundWorker(home))
        {
            home.WaitForState(id, "completed", Deadline);
        }

        Assert.That(home.Ok("logs", id), Is.EqualTo("a b\nit's\n$HOME\n\nx;y\n"));
    }

    [Test]
    public void EnqueueAfterDashDash_WithGlobalOptionsBeforeTheVerb_KeepsOptionLikeWordsInTheCommand()
    {
        using var home = new TempHome();

        var result = QueueCtlInProcess.Run(["--home", home.Root, "enqueue", "--id", "ls", "--", "ls", "--home", "-h", "--help"]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(home.ReadJob("pending", "ls").GetProperty("command").GetString(), Is.EqualTo("ls --home -h --help"));
    }

    public static IEnumerable<TestCaseData> RefusedCommandForms()
    {
        yield return new TestCaseData(new[] { "enqueue", "echo hi" },
            "queuectl: 'echo hi' is not a JSON object; to enqueue a command write `queuectl enqueue -- echo hi` or `--command 'echo hi'`.\n")
            .SetName("OneWordThatIsACommand");
        yield return new TestCaseData(new[] { "enqueue", "echo", "hi" },
            "queuectl: 'echo hi' is not a JSON object; to enqueue a command write `queuectl enqueue -- echo hi` or `--command 'echo hi'`.\n")
            .SetName("SeveralWordsOfACommand");
        yield return new TestCaseData(new[] { "enqueue", "--" },
            "queuectl: Nothing follows '--': give the command to run, as in `queuectl enqueue -- echo hi`.\n")
            .SetName("NothingAfterDashDash");
        yield return new TestCaseData(new[] { "enqueue", "--command", "true", "--", "false" },
            "queuectl: Give exactly one of: a JSON job, --command CMD, -- CMD ARGS…, --file F, or - for stdin.\n")
            .SetName("CommandAndDashDash");
        yield return new TestCaseData(new[] { "list", "--", "x" },
            "queuectl: This command takes no '--'; it is for a command to run, as in `queuectl enqueue -- CMD ARGS…`.\n")
            .SetName("DashDashOnAVerbWithoutCommand");
    }

    [TestCaseSource(nameof(RefusedCommandForms))]
    public void CommandInTheWrongPlace_IsRefusedWithAHint_AndChangesNothing(string[] args, string expected)
    {
        using var home = new TempHome();
        var before = home.Tree();

        var result = QueueCtlInProcess.Run([.. args.TakeWhile(a => a != "--"), "--home", home.Root, .. args.SkipWhile(a => a != "--")]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Is.EqualTo(expected));
        Assert.That(home.Tree(), Is.EqualTo(before));
    }
}
