using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>A job file found on disk: where it is and what it says (null when it does not parse).</summary>
internal sealed record StoredJob(string State, string Path, Job? Job, string? Error)
{
    public string Id => System.IO.Path.GetFileNameWithoutExtension(Path);
}

/// <summary>
/// Reading and adding job files. Enqueue commits at the instant of one rename into pending/
/// without replace; a listing is a snapshot that may already be stale when printed.
/// </summary>
internal sealed class JobStore(QueueHome home)
{
    private int? _droppedMaxRetries;

    public QueueHome Home { get; } = home;

    /// <summary>
    /// The max_retries a claim gives a dropped file that names none: config's max-retries, read
    /// once and only when a dropped file is read; the default when config.json cannot be read (a
    /// listing never fails on it: `config` and the workers say what is wrong with it).
    /// </summary>
    private int DroppedMaxRetries()
    {
        if (_droppedMaxRetries is null)
        {
            try
            {
                _droppedMaxRetries = ConfigStore.Load(Home).MaxRetries;
            }
            catch (Exception e) when (e is Failure or IOException or UnauthorizedAccessException)
            {
                _droppedMaxRetries = new Config.Settings().MaxRetries;
            }
        }
        return _droppedMaxRetries.Value;
    }

    /// <summary>Adds a pending job; refuses an id that any state already holds.</summary>
    public void Enqueue(Job job, DateTime now)
    {
        var existing = Locate(job.Id);
        if (existing is not null)
        {
            throw Failure.Operation($"A job with id '{job.Id}' already exists (state {existing.State}).");
        }
        var destination = Home.JobPath(JobState.Pending, job.Id);
        // A scheduled job's file carries its not_before as mtime, so `status` can split ready from
        // scheduled with one stat per file instead of reading 100,000 files.
        var modified = job.NotBefore > now ? job.NotBefore : null;
        if (!AtomicFile.Write(Home, destination, JobJson.Serialize(job), noReplace: true, modified: modified))
        {
            throw Failure.Operation($"A job with id '{job.Id}' already exists (state pending).");
        }
    }

    /// <summary>Where a job is right now, or null. The answer can change the next moment.</summary>
    public StoredJob? Locate(string id)
    {
        if (!JobId.IsValid(id) || !Home.Exists)
        {
            return null;
        }
        foreach (var state in JobState.All)
        {
            foreach (var folder in Folders(state))
            {
                var path = Path.Combine(folder, id + ".json");
                if (File.Exists(path))
                {
                    return Read(state, path, DroppedMaxRetries);
                }
            }
        }
        return null;
    }

    /// <summary>The job files of one state (processing spans every worker's folder).</summary>
    public IEnumerable<string> Files(string state)
    {
        foreach (var folder in Folders(state))
        {
            IEnumerable<string> names;
            try
            {
                names = Directory.EnumerateFiles(folder);
            }
            catch (DirectoryNotFoundException)
            {
                // RACE: a worker's processing folder can be removed while we list.
                continue;
            }
            foreach (var path in names)
            {
                if (QueueHome.IsJobFileName(Path.GetFileName(path)))
                {
                    yield return path;
                }
            }
        }
    }

    public int Count(string state) => Files(state).Count();

    public IEnumerable<StoredJob> ReadAll(string state)
    {
        foreach (var path in Files(state))
        {
            var job = Read(state, path, DroppedMaxRetries);
            if (job is not null)
            {
                yield return job;
            }
        }
    }

    /// <summary>Reads one file of this home as <see cref="Read(string, string, Func{int})"/>, a dropped file with the configured max-retries.</summary>
    public StoredJob? ReadFile(string state, string path) => Read(state, path, DroppedMaxRetries);

    /// <summary>
    /// Reads one file; null when it vanished meanwhile (moved by a worker). A file that is not in
    /// queuectl's own form (dropped) gets the defaults a claim would give it, max_retries from
    /// <paramref name="droppedMaxRetries"/> (asked only then; 0 without it).
    /// </summary>
    public static StoredJob? Read(string state, string path, Func<int>? droppedMaxRetries = null)
    {
        byte[] bytes;
        try
        {
            bytes = JobReader.ReadBytes(path, state);
        }
        catch (FileNotFoundException)
        {
            return null; // RACE: moved to another state between listing and reading.
        }
        catch (DirectoryNotFoundException)
        {
            return null; // RACE: a worker's folder went away.
        }
        catch (NotRegularFileException e)
        {
            return new StoredJob(state, path, null, e.Message); // a FIFO dropped into pending/: never opened
        }
        catch (Failure failure)
        {
            return new StoredJob(state, path, null, failure.Message); // over the size limit: not read past it
        }
        try
        {
            return new StoredJob(state, path, JobJson.Deserialize(bytes), null);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            // A dropped file is only normalised when a worker takes it: read it the way a worker
            // would, with the configured max-retries a claim would give it.
            try
            {
                var job = JobReader.ParseDropped(bytes, path, File.GetLastWriteTimeUtc(path), droppedMaxRetries?.Invoke() ?? 0) with { State = state };
                return new StoredJob(state, path, job, null);
            }
            catch (Failure failure)
            {
                return new StoredJob(state, path, null, failure.Message);
            }
        }
    }

    private IEnumerable<string> Folders(string state)
    {
        var folder = Home.StateFolder(state);
        if (state != JobState.Processing)
        {
            return [folder];
        }
        try
        {
            return Directory.EnumerateDirectories(folder).ToList();
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }
}
