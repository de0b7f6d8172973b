using System.Collections;
using System.Runtime.InteropServices;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

/// <summary>
/// The checkout's `./queuectl` wrapper hands the freshness check of its build to the binary it
/// starts: a shell script needs two stat calls and a function call per source, native code a tenth
/// of that (docs/decisions.md, "Build and start-up"). The wrapper sets QUEUECTL_CHECKOUT to the
/// checkout; this reads the list the build left (QueueCtl/bin/run/sources, written before the
/// build started, so its mtime is the build's start) with the wrapper's own rules, and when
/// anything changed runs the wrapper again with QUEUECTL_REBUILD=1, which builds and starts the new
/// binary. Without the variable (an installed tool, a test) it does nothing.
/// </summary>
internal static partial class CheckoutFreshness
{
    public const string CheckoutVariable = "QUEUECTL_CHECKOUT";
    public const string RebuildVariable = "QUEUECTL_REBUILD";

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ExecVe(string path, nint[] argv, nint[] envp);

    /// <summary>Returns when the build is current (or this is no checkout run); otherwise replaces the process with the wrapper.</summary>
    public static void RebuildIfStale(string[] args)
    {
        var root = Environment.GetEnvironmentVariable(CheckoutVariable);
        if (root is null)
        {
            return;
        }
        Environment.SetEnvironmentVariable(CheckoutVariable, null); // not inherited by jobs and workers
        if (IsCurrent(root))
        {
            return;
        }
        var environment = new List<string>();
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            environment.Add($"{variable.Key}={variable.Value}");
        }
        environment.Add($"{RebuildVariable}=1");
        ExecVe("/bin/sh", CStrings(["sh", Path.Combine(root, "queuectl"), .. args]), CStrings(environment));
        // Only on failure: the binary is stale but still runs, and says so.
        Console.Error.WriteLine($"queuectl: the sources changed since this build, and running the wrapper to rebuild failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}.");
    }

    /// <summary>A NULL-terminated array of C strings, for execve (never freed: the process is replaced or about to exit).</summary>
    private static nint[] CStrings(IEnumerable<string> strings) => [.. strings.Select(Marshal.StringToCoTaskMemUTF8), 0];

    /// <summary>
    /// The wrapper's rules for its list's lines: `s 'PATH'` (a source or folder: changed when newer
    /// than the list; one gone changes its folder), `b 'PATH'` (a build file: also changed when gone)
    /// and `m 'PATH'` (a build file that was missing: changed when it appears). Paths are relative
    /// to the checkout, quoted for sh.
    /// </summary>
    public static bool IsCurrent(string root)
    {
        var list = Path.Combine(root, "QueueCtl", "bin", "run", "sources");
        string[] lines;
        try
        {
            if (Native.ModifiedNanoseconds(list) is not { } built)
            {
                return false;
            }
            lines = File.ReadAllLines(list);
            foreach (var line in lines)
            {
                if (line.Length < 5 || line[1] != ' ' || line[2] != '\'' || line[^1] != '\'')
                {
                    return false; // not a list this code wrote: rebuild rather than guess
                }
                var modified = Native.ModifiedNanoseconds(Path.Combine(root, line[3..^1].Replace("'\\''", "'", StringComparison.Ordinal)));
                var changed = line[0] switch
                {
                    's' => modified > built,
                    'b' => modified is null || modified > built,
                    'm' => modified is not null,
                    _ => true,
                };
                if (changed)
                {
                    return false;
                }
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
