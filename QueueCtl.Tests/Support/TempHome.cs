using System.Security.Cryptography;
using System.Text.Json;

namespace QueueCtl.Tests.Support;

/// <summary>
/// A fresh queue home per test, removed afterwards; runs queuectl against it. By default
/// <see cref="Run"/> calls the CLI in this process (<see cref="QueueCtlInProcess"/>), except
/// `worker start` and `dashboard`, which always start the real executable. With
/// <c>inProcess: false</c> (EndToEnd tests) every command is the real executable, run from
/// <see cref="Parent"/> as its working directory, as a user would.
/// </summary>
public sealed class TempHome : IDisposable
{
    private readonly bool _inProcess;

    public TempHome(bool create = true, bool inProcess = true)
    {
        if (!inProcess)
        {
            EndToEnd.Require("new TempHome(inProcess: false)"); // before anything is made, so that nothing is left behind
        }
        _inProcess = inProcess;
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

    public CliResult Run(params string[] args) => RunWithInput(null, args);

    public CliResult RunWithInput(string? stdin, params string[] args) =>
        _inProcess && !NeedsTheExecutable(args)
            ? QueueCtlInProcess.Run(WithHome(args), stdin)
            : QueueCtlProcess.Run(WithHome(args), stdin: stdin, workingDirectory: Parent);

    /// <summary>The real executable, whatever the mode: for the tests that compare both.</summary>
    public CliResult RunProcess(params string[] args) => QueueCtlProcess.Run(WithHome(args), workingDirectory: Parent);

    /// <summary>`worker start` launches Environment.ProcessPath (the test host, in process); the dashboard serves until killed.</summary>
    private static bool NeedsTheExecutable(string[] args)
    {
        var words = args.TakeWhile(a => a != "--").Where(a => !a.StartsWith('-')).ToList();
        return words.Count > 0 && (words[0] == "dashboard" || (words[0] == "worker" && words.Count > 1 && words[1] == "start"));
    }

    /// <summary>--home goes before any `--`: the words after it are a command (enqueue -- CMD ARGS…).</summary>
    private string[] WithHome(string[] args) =>
        [.. args.TakeWhile(a => a != "--"), "--home", Root, .. args.SkipWhile(a => a != "--")];

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

    /// <summary>The ids of the jobs in a state's folder.</summary>
    public List<string> Ids(string state) =>
        Directory.Exists(PathOf(state))
            ? Directory.EnumerateFiles(PathOf(state), "*.json").Select(p => Path.GetFileNameWithoutExtension(p)!).Order().ToList()
            : [];

    /// <summary>Starts detached workers (in one process, or spread over <paramref name="processes"/>) and returns their ids.</summary>
    public List<string> StartWorkers(int count, int processes = 1)
    {
        var stdout = Ok("worker", "start", "--count", count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--processes", processes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    public void WaitForState(string id, string state, TimeSpan within) =>
        Eventually.True(() => File.Exists(PathOf(state, id + ".json")), within, $"job {id} in {state}/");

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

    /// <summary>Kills every process started against this home (detached workers included), then deletes it.</summary>
    public void Dispose()
    {
        for (var round = 0; round < 3; round++)
        {
            var pids = Processes.WithCommandLineContaining(Root);
            if (pids.Count == 0)
            {
                break;
            }
            pids.ForEach(Processes.Kill);
            Thread.Sleep(50);
        }
        try
        {
            Directory.Delete(Parent, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
