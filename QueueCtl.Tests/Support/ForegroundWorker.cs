using System.Diagnostics;
using System.Text;

namespace QueueCtl.Tests.Support;

/// <summary>`queuectl worker start --foreground` as a child process whose output the test reads.</summary>
public sealed class ForegroundWorker : IDisposable
{
    private readonly StringBuilder _output = new();

    public ForegroundWorker(TempHome home, int count = 1)
    {
        EndToEnd.Require("queuectl worker start --foreground");
        var start = new ProcessStartInfo(QueueCtlProcess.Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = home.Parent,
        };
        foreach (var arg in new[] { "worker", "start", "--foreground", "--count", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "--home", home.Root })
        {
            start.ArgumentList.Add(arg);
        }
        Process = Process.Start(start)!;
        Process.OutputDataReceived += (_, e) => Append(e.Data);
        Process.ErrorDataReceived += (_, e) => Append(e.Data);
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
        Eventually.True(() => Output.Contains("started", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the foreground worker to start");
    }

    public Process Process { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool WaitForExit(TimeSpan within) => Process.WaitForExit(within);

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }
        Process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
