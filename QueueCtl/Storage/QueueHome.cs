using QueueCtl.Jobs;

namespace QueueCtl.Storage;

/// <summary>The queue home and its folders (README.md, "The queue home"); paths only, no job logic.</summary>
internal sealed class QueueHome
{
    public const string EnvironmentVariable = "QUEUECTL_HOME";

    /// <summary>Set to 1 for a home a group of users shares on purpose (see <see cref="RefuseIfUnsafe"/>).</summary>
    public const string SharedVariable = "QUEUECTL_SHARED_HOME";

    private static readonly string[] Folders =
        ["tmp", JobState.Pending, JobState.Processing, JobState.Completed, JobState.Failed, JobState.Dead, "rejected", "logs", "workers"];

    public QueueHome(string root)
    {
        Root = Path.GetFullPath(root);
        Staging = Tmp;
    }

    private QueueHome(string root, string staging, IReadOnlyList<string>? workerQueues)
    {
        Root = root;
        Staging = staging;
        WorkerQueues = workerQueues;
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
    public QueueHome ForWorker(string workerId, IReadOnlyList<string>? queues = null) => new(Root, StagingOf(workerId), queues);

    /// <summary>
    /// A worker's home only: the queues it takes jobs from (`worker start --queue`), null for every
    /// queue. Its job index and its registration record read it from here.
    /// </summary>
    public IReadOnlyList<string>? WorkerQueues { get; }

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

    /// <summary>
    /// Refuses an existing home that someone else can write to: whoever can write pending/ runs
    /// commands as the worker's user. A home must belong to this user and not be writable by group
    /// or others, unless QUEUECTL_SHARED_HOME=1 declares a home shared by a group (then another
    /// owner and group write are accepted). Writable by every user is refused always. A missing
    /// home passes: it is made with mode 0700 on first use.
    /// </summary>
    public void RefuseIfUnsafe()
    {
        if (Native.Stat(Root) is not { } stat)
        {
            return;
        }
        var mode = stat.Mode & 0xFFF;
        var octal = Convert.ToString(mode, 8).PadLeft(4, '0');
        var shared = Environment.GetEnvironmentVariable(SharedVariable) == "1";
        var me = Native.EffectiveUid;
        if ((mode & 0x2) != 0)
        {
            throw Failure.Operation(
                $"The queue home '{Root}' is writable by every user (mode {octal}, owner {UserName(stat.Uid)}), so anyone could run commands as its workers' user; fix it with 'chmod 700 {Root}'.");
        }
        if (shared)
        {
            return;
        }
        if (stat.Uid != me)
        {
            throw Failure.Operation(
                $"The queue home '{Root}' belongs to {UserName(stat.Uid)}, not to you ({UserName(me)}; mode {octal}), and its owner could run commands as you; use a home of your own, run 'chown -R {LoginName(me)} {Root}' and 'chmod 700 {Root}', or set {SharedVariable}=1 for a home shared on purpose.");
        }
        if ((mode & 0x10) != 0)
        {
            throw Failure.Operation(
                $"The queue home '{Root}' is writable by its group (mode {octal}, owner {UserName(stat.Uid)}), so group members could run commands as you; fix it with 'chmod 700 {Root}', or set {SharedVariable}=1 for a home shared on purpose.");
        }
    }

    /// <summary>"alice (uid 1000)"; "uid 1000" when /etc/passwd does not name it.</summary>
    private static string UserName(uint uid) => LoginName(uid) is { } name && name != Uid(uid) ? $"{name} (uid {Uid(uid)})" : $"uid {Uid(uid)}";

    private static string Uid(uint uid) => uid.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The login name of a uid from /etc/passwd, else the number.</summary>
    private static string LoginName(uint uid)
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/passwd"))
            {
                var fields = line.Split(':');
                if (fields.Length > 2 && fields[2] == Uid(uid))
                {
                    return fields[0];
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No user names: the uid says it.
        }
        return Uid(uid);
    }

    /// <summary>True for names a worker or a listing treats as a job: *.json, not hidden, not *.tmp.</summary>
    public static bool IsJobFileName(string name) =>
        name.EndsWith(".json", StringComparison.Ordinal)
        && !name.StartsWith('.');
}
