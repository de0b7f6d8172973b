namespace QueueCtl.Jobs;

/// <summary>
/// The bounds every job and setting is checked against, so that no value a user can type or
/// drop into pending/ overflows arithmetic, the kernel's execve limits or a worker's memory.
/// </summary>
internal static class JobLimits
{
    /// <summary>Largest job: one JSON line of enqueue input, or one file in pending/ (checked before it is read).</summary>
    public const int MaxFileBytes = 1024 * 1024;

    /// <summary>Linux's MAX_ARG_STRLEN (32 pages) counts the terminating NUL: the longest single argument of execve.</summary>
    public const int MaxCommandBytes = 131072 - 1;

    /// <summary>
    /// The command and env together, as execve counts them (each string plus its NUL). A quarter of
    /// the usual ARG_MAX (2 MiB with the default 8 MiB stack): the rest is the worker's own environment.
    /// </summary>
    public const int MaxExecBytes = 512 * 1024;

    /// <summary>retries after the first attempt (the same bound as `config set max-retries`).</summary>
    public const int MaxRetries = 1000;

    /// <summary>
    /// Longest time limit of an attempt: CancellationTokenSource.CancelAfter takes at most
    /// uint.MaxValue - 1 ms (about 49.7 days); 49 days is the round figure under it.
    /// </summary>
    public const double MaxTimeoutSeconds = 49 * 86400;

    public const string MaxTimeoutText = "49d";

    /// <summary>Longest retry delay (backoff-max): keeps base^n and now + delay far from overflow.</summary>
    public const double MaxBackoffSeconds = 365 * 86400;

    public const string MaxBackoffText = "365d";
}
