using System.Diagnostics;

namespace QueueCtl.Tests.Cli;

/// <summary>
/// The README's `./queuectl` runs from a fresh checkout: it builds on first use, not again when
/// nothing changed, and again after a source change. Runs on a copy of the sources in a temp folder.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable] // builds queuectl: CPU-bound
public class WrapperScriptTests
{
    [Test]
    public void Wrapper_BuildsOnFirstUse_ThenNotAgain_UntilASourceChanges()
    {
        var repo = FindRepoRoot();
        var copy = Directory.CreateTempSubdirectory("queuectl-wrapper-").FullName;
        try
        {
            File.Copy(Path.Combine(repo, "queuectl"), Path.Combine(copy, "queuectl"));
            foreach (var buildFile in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig" })
            {
                File.Copy(Path.Combine(repo, buildFile), Path.Combine(copy, buildFile));
            }
            CopySources(Path.Combine(repo, "QueueCtl"), Path.Combine(copy, "QueueCtl"));

            var first = Run(copy, "--version");
            var second = Run(copy, "--version");
            File.SetLastWriteTimeUtc(Path.Combine(copy, "QueueCtl", "Program.cs"), DateTime.UtcNow.AddSeconds(5));
            var third = Run(copy, "--version");

            Assert.That(first.ExitCode, Is.EqualTo(0), first.Stderr);
            Assert.That(first.Stderr, Does.Contain("building"));
            Assert.That(first.Stdout, Does.StartWith("queuectl "));
            Assert.That(second.Stderr, Is.Empty, "nothing changed, so no build");
            Assert.That(second.Stdout, Is.EqualTo(first.Stdout));
            Assert.That(third.Stderr, Does.Contain("building"));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private static (int ExitCode, string Stdout, string Stderr) Run(string root, string args)
    {
        var start = new ProcessStartInfo(Path.Combine(root, "queuectl"), args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
            // The fast JIT build: this test is about when the wrapper builds; PublishedBinaryTests covers NativeAOT.
            Environment = { ["QUEUECTL_BUILD"] = "jit" },
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("./queuectl did not finish within 3 minutes.");
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

    internal static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QueueCtl.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("QueueCtl.sln not found above the test folder.");
    }
}
