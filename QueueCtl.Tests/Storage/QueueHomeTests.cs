using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Storage;

[Parallelizable(ParallelScope.All)]
public class QueueHomeTests
{
    private static readonly string[] Layout =
        ["completed/", "dead/", "failed/", "logs/", "pending/", "processing/", "rejected/", "tmp/", "workers/"];

    [Test]
    public void Init_CreatesExactlyTheSpecLayout_WithMode0700()
    {
        using var home = new TempHome(create: false);

        var result = home.Run("init");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var entries = Directory.EnumerateFileSystemEntries(home.Root).Select(p => Path.GetFileName(p) + "/").Order().ToList();
        Assert.That(entries, Is.EqualTo(Layout));
        Assert.That(File.GetUnixFileMode(home.Root),
            Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
    }

    [Test]
    public void Init_IsIdempotent_AndKeepsJobs()
    {
        using var home = new TempHome();
        var id = home.Ok("enqueue", "--command", "true").Trim();
        var before = home.Tree();

        home.Ok("init");

        Assert.That(home.Tree(), Is.EqualTo(before));
        Assert.That(File.Exists(home.PathOf("pending", id + ".json")), Is.True);
    }

    [Test]
    public void FirstUse_CreatesTheHome_WithoutInit()
    {
        using var home = new TempHome(create: false);

        home.Ok("enqueue", "--command", "true");

        Assert.That(Directory.Exists(home.PathOf("pending")), Is.True);
        Assert.That(File.GetUnixFileMode(home.Root) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead), Is.EqualTo(UnixFileMode.None));
    }

    [Category("EndToEnd"), NonParallelizable]
    [Test]
    public void HomeOption_WinsOverEnvironment_WhichWinsOverUserHome()
    {
        using var scratch = new TempHome(create: false, inProcess: false);
        var fromOption = Path.Combine(scratch.Parent, "option");
        var fromEnvironment = Path.Combine(scratch.Parent, "env");
        var userHome = Path.Combine(scratch.Parent, "user");
        Directory.CreateDirectory(userHome);

        var both = QueueCtlProcess.Run(["init", "--home", fromOption],
            environment: new Dictionary<string, string?> { ["QUEUECTL_HOME"] = fromEnvironment, ["HOME"] = userHome });
        var envOnly = QueueCtlProcess.Run(["init"],
            environment: new Dictionary<string, string?> { ["QUEUECTL_HOME"] = fromEnvironment, ["HOME"] = userHome });
        var neither = QueueCtlProcess.Run(["init"],
            environment: new Dictionary<string, string?> { ["HOME"] = userHome });

        Assert.Multiple(() =>
        {
            Assert.That(both.Stdout, Does.Contain(fromOption));
            Assert.That(envOnly.Stdout, Does.Contain(fromEnvironment));
            Assert.That(neither.Stdout, Does.Contain(Path.Combine(userHome, ".queuectl")));
            Assert.That(Directory.Exists(Path.Combine(userHome, ".queuectl", "pending")), Is.True);
        });
    }

    [Test]
    public void ReadOnlyCommands_DoNotCreateAMissingHome_AndSayItDoesNotExist()
    {
        using var home = new TempHome(create: false);

        var status = home.Run("status");
        var list = home.Run("list");

        Assert.That((status.ExitCode, list.ExitCode), Is.EqualTo((1, 1)));
        Assert.That(status.Stderr, Does.Contain("does not exist"));
        Assert.That(Directory.Exists(home.Root), Is.False);
    }
}
