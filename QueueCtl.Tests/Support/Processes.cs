using System.Diagnostics;

namespace QueueCtl.Tests.Support;

/// <summary>Finds and kills processes by their command line, so that no test leaves a worker behind.</summary>
public static class Processes
{
    /// <summary>Pids of processes whose command line contains <paramref name="text"/>.</summary>
    public static List<int> WithCommandLineContaining(string text) => Matching(c => c.Contains(text, StringComparison.Ordinal));

    /// <summary>Pids of processes whose whole command line (arguments joined by spaces) is <paramref name="text"/>.</summary>
    public static List<int> WithCommandLine(string text) => Matching(c => c.Trim() == text);

    private static List<int> Matching(Func<string, bool> commandLine)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                if (commandLine(File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ')))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // RACE: the process exited while we looked.
            }
        }
        return found;
    }

    public static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}") && !IsZombie(pid);

    public static void Kill(int pid)
    {
        try
        {
            Process.GetProcessById(pid).Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    /// <summary>Runs a program (mount, umount …) with its output captured and returns its exit code.</summary>
    public static int ExitCodeOf(string program, params string[] args)
    {
        EndToEnd.Require($"{program} {string.Join(' ', args)}");
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>Sends a signal with kill(1): 9, 15, 2 …</summary>
    public static void Signal(int pid, int signal)
    {
        EndToEnd.Require($"kill -{signal}");
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] == 'Z';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
