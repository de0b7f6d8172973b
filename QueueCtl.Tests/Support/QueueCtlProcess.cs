using System.Diagnostics;

namespace QueueCtl.Tests.Support;

/// <summary>Runs the built queuectl executable as a real process, the way a user would.</summary>
public static class QueueCtlProcess
{
    /// <summary>The apphost copied next to the tests by the project reference.</summary>
    public static string Executable => Path.Combine(AppContext.BaseDirectory, "queuectl");

    public static CliResult Run(
        IEnumerable<string> args,
        string? stdin = null,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        TimeSpan? timeout = null,
        string? executable = null)
    {
        var start = new ProcessStartInfo(executable ?? Executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        EndToEnd.Require($"{Path.GetFileName(start.FileName)} {string.Join(' ', start.ArgumentList)}");
        start.Environment.Remove("QUEUECTL_HOME");
        start.Environment["NO_COLOR"] = "1";
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                if (value is null)
                {
                    start.Environment.Remove(key);
                }
                else
                {
                    start.Environment[key] = value;
                }
            }
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("queuectl did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }
        process.StandardInput.Close();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"queuectl {string.Join(' ', start.ArgumentList)} did not finish in time.");
        }
        process.WaitForExit();
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}
