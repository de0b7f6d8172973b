using QueueCtl.Tests.Cli;

namespace QueueCtl.Tests.Support;

/// <summary>
/// A copy of what `./queuectl` builds from (the wrapper, the build files beside QueueCtl/ and the
/// QueueCtl/ sources without bin/ and obj/) in a temp folder, deleted on Dispose: for the tests of
/// when the wrapper builds.
/// </summary>
public sealed class CheckoutCopy : IDisposable
{
    public CheckoutCopy(string prefix)
    {
        var repo = WrapperScriptTests.FindRepoRoot();
        Root = Directory.CreateTempSubdirectory(prefix).FullName;
        File.Copy(Path.Combine(repo, "queuectl"), Path.Combine(Root, "queuectl"));
        foreach (var buildFile in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig" })
        {
            File.Copy(Path.Combine(repo, buildFile), Path.Combine(Root, buildFile));
        }
        var sources = Path.Combine(repo, "QueueCtl");
        foreach (var file in Directory.EnumerateFiles(sources, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(sources, file);
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal))
            {
                continue;
            }
            var target = Path.Combine(Root, "QueueCtl", relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public string Root { get; }

    /// <summary>`./queuectl ARGS` from the copy's root, as a user runs it; fails the test past <paramref name="timeout"/>.</summary>
    public CliResult RunWrapper(IReadOnlyDictionary<string, string?> environment, TimeSpan timeout, params string[] args) =>
        QueueCtlProcess.Run(args, workingDirectory: Root, environment: environment, timeout: timeout, executable: Path.Combine(Root, "queuectl"));

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
