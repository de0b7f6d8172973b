using QueueCtl;
using QueueCtl.Cli;

CheckoutFreshness.RebuildIfStale(args);
return Program.Run(args, CliConsole.System);

internal static partial class Program
{
    /// <summary>The whole CLI; tests call it in-process. The one place errors become exit codes.</summary>
    public static int Run(string[] args, CliConsole console)
    {
        try
        {
            return CommandLineEntry.Run(args, console);
        }
        catch (Failure failure)
        {
            console.Error.WriteLine($"queuectl: {failure.Message}");
            return failure.ExitCode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            console.Error.WriteLine($"queuectl: {e.Message}");
            return Failure.OperationFailed;
        }
    }
}
