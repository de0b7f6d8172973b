using QueueCtl.Tests.Support;

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
        using var copy = new CheckoutCopy("queuectl-wrapper-");
        var first = Run(copy);
        var second = Run(copy);
        File.SetLastWriteTimeUtc(Path.Combine(copy.Root, "QueueCtl", "Program.cs"), DateTime.UtcNow.AddSeconds(5));
        var third = Run(copy);

        Assert.That(first.ExitCode, Is.EqualTo(0), first.Stderr);
        Assert.That(first.Stderr, Does.Contain("building"));
        Assert.That(first.Stdout, Does.StartWith("queuectl "));
        Assert.That(second.Stderr, Is.Empty, "nothing changed, so no build");
        Assert.That(second.Stdout, Is.EqualTo(first.Stdout));
        Assert.That(third.Stderr, Does.Contain("building"));
    }

    // The fast JIT build: this test is about when the wrapper builds; PublishedBinaryTests covers NativeAOT.
    private static CliResult Run(CheckoutCopy copy) =>
        copy.RunWrapper(new Dictionary<string, string?> { ["QUEUECTL_BUILD"] = "jit" }, TimeSpan.FromMinutes(3), "--version");

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
