namespace QueueCtl;

/// <summary>
/// An error the user should read: one sentence, printed on stderr by Program, with the
/// documented exit code (2 invalid usage or input, 1 the operation failed).
/// </summary>
internal sealed class Failure(int exitCode, string message) : Exception(message)
{
    public const int OperationFailed = 1;
    public const int InvalidUsage = 2;

    public int ExitCode { get; } = exitCode;

    public static Failure Usage(string message) => new(InvalidUsage, message);

    public static Failure Operation(string message) => new(OperationFailed, message);
}
