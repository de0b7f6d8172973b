using System.Security.Cryptography;
using System.Text.Json;

namespace QueueCtl.Tests.Support;

/// <summary>A fresh queue home per test, removed afterwards; runs queuectl against it.</summary>
public sealed class TempHome : IDisposable
{
    public TempHome(bool create = true)
    {
        Parent = Directory.CreateTempSubdirectory("queuectl-test-").FullName;
        Root = Path.Combine(Parent, "home");
        if (create)
        {
            var result = Run("init");
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        }
    }

    /// <summary>A scratch folder beside the home (for input files, working directories).</summary>
    public string Parent { get; }

    public string Root { get; }

    public string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public CliResult Run(params string[] args) => QueueCtlProcess.Run([.. args, "--home", Root], workingDirectory: Parent);

    public CliResult RunWithInput(string stdin, params string[] args) =>
        QueueCtlProcess.Run([.. args, "--home", Root], stdin: stdin, workingDirectory: Parent);

    /// <summary>Runs a command that must succeed and returns its stdout.</summary>
    public string Ok(params string[] args)
    {
        var result = Run(args);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        return result.Stdout;
    }

    public JsonElement Json(params string[] args)
    {
        using var document = JsonDocument.Parse(Ok([.. args, "--json"]));
        return document.RootElement.Clone();
    }

    public JsonElement ReadJob(string state, string id)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(PathOf(state, id + ".json")));
        return document.RootElement.Clone();
    }

    /// <summary>Every folder and file under the parent (home included), with a hash of each file's bytes.</summary>
    public IReadOnlyList<string> Tree()
    {
        if (!Directory.Exists(Parent))
        {
            return [];
        }
        return Directory.EnumerateFileSystemEntries(Parent, "*", SearchOption.AllDirectories)
            .Select(path =>
            {
                var relative = Path.GetRelativePath(Parent, path);
                return Directory.Exists(path)
                    ? relative + "/"
                    : $"{relative} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)))[..16]}";
            })
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Parent, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
