using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>
/// `./queuectl` decides freshness from the list its build leaves (no walk of the tree): it must
/// still rebuild after a file is written in place, as an editor or `git checkout` does, and after a
/// file is added, without being told a new mtime. Runs on a copy of the sources in a temp folder,
/// with a stand-in `dotnet` first on PATH that "publishes" a script printing the build's number:
/// this test is about when the wrapper builds (WrapperScriptTests does a real build).
/// </summary>
public class WrapperFreshnessTests
{
    [Test]
    public void Wrapper_Rebuilds_AfterAnInPlaceEdit_AndAfterAFileIsAdded()
    {
        using var copy = new CheckoutCopy("queuectl-fresh-");
        var fakeBin = Path.Combine(copy.Root, "fake-bin");
        Directory.CreateDirectory(fakeBin);
        var fakeDotnet = Path.Combine(fakeBin, "dotnet");
        File.WriteAllText(fakeDotnet, """
            #!/bin/sh
            # Stands in for `dotnet publish ... -o DIR`: leaves DIR/queuectl, which prints the build's number.
            while [ $# -gt 0 ]; do if [ "$1" = -o ]; then out=$2; fi; shift; done
            count_file="${out%/*}/../../builds"
            n=$(( $(cat "$count_file" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$count_file"
            mkdir -p "$out"
            printf '#!/bin/sh\necho "queuectl build %s"\n' "$n" > "$out/queuectl"
            chmod +x "$out/queuectl"
            """);
        File.SetUnixFileMode(fakeDotnet, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var environment = new Dictionary<string, string?>
        {
            ["QUEUECTL_BUILD"] = "jit",
            ["PATH"] = fakeBin + ":" + Environment.GetEnvironmentVariable("PATH"),
        };
        CliResult Run() => copy.RunWrapper(environment, TimeSpan.FromMinutes(5), "--version");

        var first = Run();
        var unchanged = Run();
        File.AppendAllText(Path.Combine(copy.Root, "QueueCtl", "Cli", "CommandLine.cs"), "// edited in place\n");
        var edited = Run();
        var afterEdit = Run();
        File.WriteAllText(Path.Combine(copy.Root, "QueueCtl", "Cli", "Added.cs"), "// a new source file\n");
        var added = Run();

        Assert.That(first.ExitCode, Is.EqualTo(0), first.Stderr);
        Assert.That(first.Stderr, Does.Contain("building"));
        Assert.That(unchanged.Stderr, Is.Empty, "nothing changed, so no build");
        Assert.That(edited.Stderr, Does.Contain("building"), "a file written in place");
        Assert.That(first.Stdout, Does.StartWith("queuectl build 1"));
        Assert.That(unchanged.Stdout, Does.StartWith("queuectl build 1"));
        Assert.That(edited.Stdout, Does.StartWith("queuectl build 2"));
        Assert.That(afterEdit.Stdout, Does.StartWith("queuectl build 2"));
        Assert.That(added.Stdout, Does.StartWith("queuectl build 3"));
        Assert.That(afterEdit.Stderr, Is.Empty, "built once for the edit");
        Assert.That(added.Stderr, Does.Contain("building"), "a file added");
        Assert.That(added.ExitCode, Is.EqualTo(0), added.Stderr);
    }
}
