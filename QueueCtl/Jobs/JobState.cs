namespace QueueCtl.Jobs;

/// <summary>The states a job can be in; each is also the name of its folder.</summary>
internal static class JobState
{
    public const string Pending = "pending";
    public const string Processing = "processing";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Dead = "dead";

    public static readonly IReadOnlyList<string> All = [Pending, Processing, Completed, Failed, Dead];

    public static bool IsValid(string state) => All.Contains(state);
}
