using System.Diagnostics;
using QueueCtl.Tests.Cli;

namespace QueueCtl.Tests.Support;

/// <summary>What a browser script printed, and how it ended.</summary>
public sealed record BrowserRun(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Runs a script of QueueCtl.Tests/Browser with node: headless Chromium (Debian's `chromium`)
/// driven by playwright-core (npm), both installed by .ci/run.
/// </summary>
public static class BrowserScript
{
    /// <summary>QueueCtl.Tests/Browser; ignores the test without chromium or playwright-core, fails it on CI.</summary>
    public static string FolderOrIgnore()
    {
        var browserDir = Path.Combine(WrapperScriptTests.FindRepoRoot(), "QueueCtl.Tests", "Browser");
        if (!File.Exists("/usr/bin/chromium") || !Directory.Exists(Path.Combine(browserDir, "node_modules", "playwright-core")))
        {
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail("CI must have chromium and playwright-core (.ci/run installs them).");
            }
            Assert.Ignore("Needs Debian's chromium and `npm ci` in QueueCtl.Tests/Browser (.ci/run does both).");
        }
        return browserDir;
    }

    /// <summary>Runs <paramref name="script"/> with <paramref name="environment"/>; fails the test if it takes over 2 minutes.</summary>
    public static BrowserRun Run(string browserDir, string script, IReadOnlyDictionary<string, string> environment)
    {
        EndToEnd.Require($"node {script}");
        var start = new ProcessStartInfo("node", [Path.Combine(browserDir, script)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = browserDir,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        if (!node.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            node.Kill(entireProcessTree: true);
            Assert.Fail("The browser test did not finish within 2 minutes.");
        }
        TestContext.Out.WriteLine(stdout.Result);
        return new BrowserRun(node.ExitCode, stdout.Result, stderr.Result);
    }
}
