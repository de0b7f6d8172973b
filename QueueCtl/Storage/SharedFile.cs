using Polly;
using Polly.Retry;

namespace QueueCtl.Storage;

/// <summary>
/// Reads a file that another host may be replacing or moving at this moment. On a network file
/// system that can fail with ESTALE (the client's cached handle names the file that was just
/// replaced or moved) until the client looks the name up again, about a second on GlusterFS: the
/// read is tried again with backoff for about 2 s, after which a moved file reads as not found
/// (FileNotFoundException, which callers treat as "it moved") and a replaced one reads whole.
/// </summary>
internal static class SharedFile
{
    private static readonly ResiliencePipeline StaleRetry = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<IOException>(IsStale),
            MaxRetryAttempts = 8,
            BackoffType = DelayBackoffType.Exponential,
            Delay = Timing.StaleRetryFirst,
            MaxDelay = Timing.StaleRetryMax,
        })
        .Build();

    public static byte[] ReadAllBytes(string path) => StaleRetry.Execute(static p => RegularFile.ReadAllBytes(p), path);

    /// <summary>Runs <paramref name="read"/> of <paramref name="path"/> with the same ESTALE retry.</summary>
    public static T Read<T>(string path, Func<string, T> read) => StaleRetry.Execute(read, path);

    public static string ReadAllText(string path) => StaleRetry.Execute(static p =>
    {
        using var reader = new StreamReader(new MemoryStream(RegularFile.ReadAllBytes(p)), System.Text.Encoding.UTF8);
        return reader.ReadToEnd();
    }, path);

    /// <summary>.NET reports an errno it has no exception type for as an IOException whose HResult is the errno.</summary>
    public static bool IsStale(IOException e) => e.HResult == Native.ESTALE;
}
