using System.Diagnostics;

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
        var repo = WrapperScriptTests.FindRepoRoot();
        var copy = Directory.CreateTempSubdirectory("queuectl-fresh-").FullName;
        try
        {
            File.Copy(Path.Combine(repo, "queuectl"), Path.Combine(copy, "queuectl"));
            foreach (var buildFile in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig" })
            {
                File.Copy(Path.Combine(repo, buildFile), Path.Combine(copy, buildFile));
            }
            CopySources(Path.Combine(repo, "QueueCtl"), Path.Combine(copy, "QueueCtl"));

            var fakeBin = Path.Combine(copy, "fake-bin");
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
            _path = fakeBin + ":" + Environment.GetEnvironmentVariable("PATH");

            var first = Run(copy);
            var unchanged = Run(copy);
            File.AppendAllText(Path.Combine(copy, "QueueCtl", "Cli", "CommandLine.cs"), "// edited in place\n");
            var edited = Run(copy);
            var afterEdit = Run(copy);
            File.WriteAllText(Path.Combine(copy, "QueueCtl", "Cli", "Added.cs"), "// a new source file\n");
            var added = Run(copy);

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
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private string _path = "";

    private (int ExitCode, string Stdout, string Stderr) Run(string root)
    {
        var start = new ProcessStartInfo(Path.Combine(root, "queuectl"), "--version")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
            Environment = { ["QUEUECTL_BUILD"] = "jit", ["PATH"] = _path },
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("./queuectl did not finish within 5 minutes.");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static void CopySources(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal))
            {
                continue;
            }
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
