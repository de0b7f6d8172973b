using QueueCtl.Jobs;

namespace QueueCtl.Storage;

/// <summary>The queue home and its folders (SPEC.md "The queue home"); paths only, no job logic.</summary>
internal sealed class QueueHome
{
    public const string EnvironmentVariable = "QUEUECTL_HOME";

    private static readonly string[] Folders =
        ["tmp", JobState.Pending, JobState.Processing, JobState.Completed, JobState.Failed, JobState.Dead, "rejected", "logs", "workers"];

    public QueueHome(string root)
    {
        Root = Path.GetFullPath(root);
        Staging = Tmp;
    }

    private QueueHome(string root, string staging)
    {
        Root = root;
        Staging = staging;
    }

    public string Root { get; }
    public string ConfigFile => Path.Combine(Root, "config.json");
    public string Tmp => Path.Combine(Root, "tmp");

    /// <summary>
    /// Where this process stages atomic writes: tmp/, or a worker's own tmp/&lt;workerId&gt;/ (see
    /// <see cref="ForWorker"/>).
    /// </summary>
    public string Staging { get; }

    /// <summary>
    /// The same home, staging in tmp/&lt;workerId&gt;/: workers then never contend for one folder's
    /// lock, and each worker's file creations stay in one place (ARCHITECTURE.md, "Performance choices").
    /// </summary>
    public QueueHome ForWorker(string workerId) => new(Root, StagingOf(workerId));

    public string StagingOf(string workerId) => Path.Combine(Tmp, workerId);
    public string Rejected => Path.Combine(Root, "rejected");
    public string Logs => Path.Combine(Root, "logs");
    public string Workers => Path.Combine(Root, "workers");

    public bool Exists => Directory.Exists(Root);

    /// <summary>--home, else $QUEUECTL_HOME, else ~/.queuectl.</summary>
    public static QueueHome Resolve(string? option)
    {
        if (!string.IsNullOrEmpty(option))
        {
            return new QueueHome(option);
        }
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return new QueueHome(fromEnvironment);
        }
        var userHome = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new QueueHome(Path.Combine(userHome, ".queuectl"));
    }

    /// <summary>The folder of a state; processing/ holds one folder per worker.</summary>
    public string StateFolder(string state) => Path.Combine(Root, state);

    public string JobPath(string state, string id) => Path.Combine(StateFolder(state), id + ".json");

    public string ProcessingFolder(string workerId) => Path.Combine(StateFolder(JobState.Processing), workerId);

    /// <summary>Creates the home (mode 0700) and its folders; safe to call any number of times.</summary>
    public void EnsureCreated()
    {
        if (!Directory.Exists(Root))
        {
            var parent = Path.GetDirectoryName(Root);
            if (parent is not null && !Directory.Exists(parent))
            {
                throw Failure.Operation($"Cannot create the queue home '{Root}': its parent folder does not exist.");
            }
            Directory.CreateDirectory(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        foreach (var folder in Folders)
        {
            var path = Path.Combine(Root, folder);
            if (!Directory.Exists(path))
            {
                Directory.CreateDirectory(path);
            }
        }
    }

    /// <summary>True for names a worker or a listing treats as a job: *.json, not hidden, not *.tmp.</summary>
    public static bool IsJobFileName(string name) =>
        name.EndsWith(".json", StringComparison.Ordinal)
        && !name.StartsWith('.');
}
