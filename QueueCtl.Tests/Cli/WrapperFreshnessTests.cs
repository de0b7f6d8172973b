using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>
/// `./queuectl` decides freshness from the list its build leaves (no walk of the tree), checked by
/// the binary it starts (CheckoutFreshness): it must still rebuild after a file is written in
/// place, as an editor or `git checkout` does, and after a file is added, without being told a new
/// mtime. Runs on a copy of the sources in a temp folder, with a stand-in `dotnet` first on PATH
/// whose "published" queuectl prints the build's number and then runs the real queuectl built for
/// the tests (which does the check): this test is about when the wrapper builds (WrapperScriptTests
/// does a real build).
/// </summary>
[Category("EndToEnd")] // ./queuectl, a shell script, starts the stand-in dotnet and queuectl
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
            # Stands in for `dotnet publish ... -o DIR`: leaves DIR/queuectl, which prints the build's
            # number and runs the real queuectl.
            while [ $# -gt 0 ]; do if [ "$1" = -o ]; then out=$2; fi; shift; done
            count_file="${out%/*}/../../builds"
            n=$(( $(cat "$count_file" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$count_file"
            mkdir -p "$out"
            printf '#!/bin/sh\necho "queuectl build %s"\nexec "%s" "$@"\n' "$n" "REAL" > "$out/queuectl"
            chmod +x "$out/queuectl"
            """.Replace("REAL", QueueCtlProcess.Executable, StringComparison.Ordinal));
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

        // Each run prints the number of every build that ran: a stale binary prints its own, finds
        // the change and hands over to the wrapper, which builds and runs the new one.
        Assert.That(first.ExitCode, Is.EqualTo(0), first.Stderr);
        Assert.That(first.Stderr, Does.Contain("building"));
        Assert.That(Builds(first), Is.EqualTo(new[] { 1 }));
        Assert.That(first.Stdout, Does.Contain("queuectl 0."), "the real queuectl ran after the build");
        Assert.That(unchanged.Stderr, Is.Empty, "nothing changed, so no build");
        Assert.That(Builds(unchanged), Is.EqualTo(new[] { 1 }));
        Assert.That(edited.Stderr, Does.Contain("building"), "a file written in place");
        Assert.That(Builds(edited), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(Builds(afterEdit), Is.EqualTo(new[] { 2 }));
        Assert.That(afterEdit.Stderr, Is.Empty, "built once for the edit");
        Assert.That(added.Stderr, Does.Contain("building"), "a file added");
        Assert.That(Builds(added), Is.EqualTo(new[] { 2, 3 }));
        Assert.That(added.ExitCode, Is.EqualTo(0), added.Stderr);
        Assert.That(added.Stdout, Does.Contain("queuectl 0."));
    }

    private static int[] Builds(CliResult result) =>
    [
        .. result.Stdout.Split('\n')
            .Where(line => line.StartsWith("queuectl build ", StringComparison.Ordinal))
            .Select(line => int.Parse(line["queuectl build ".Length..], System.Globalization.CultureInfo.InvariantCulture)),
    ];
}
