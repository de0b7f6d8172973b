using System.Text;
using Microsoft.Win32.SafeHandles;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>
/// The write side of the finished index (<see cref="FinishedIndex"/>): every process that moves a
/// job file into or out of completed/ or dead/ appends one line to its own ledger of that folder,
/// <c>index/&lt;state&gt;/&lt;host&gt;+&lt;pid&gt;+&lt;nonce&gt;+&lt;generation&gt;.log</c>, after the
/// move succeeded: "+&lt;id&gt;" or "-&lt;id&gt;". Each line is therefore a real change
/// of membership (a no-replace rename in, a rename out), so per id and folder the lines alternate
/// + - + - whatever order the ledgers of several writers are read in. One writer per file: no
/// locking, also across hosts. A ledger past <see cref="RotateBytes"/> is left for the next
/// generation; folding deletes it once it is consumed (<see cref="FinishedIndex"/>).
/// Nothing here may fail a move: a line that cannot be written is found missing by the index's
/// doubt rule (the folder changed after every ledger line) and repaired by a rebuild.
/// </summary>
internal static class FinishedLedger
{
    public const long RotateBytes = 4 * 1024 * 1024;
    public const char Separator = '+';

    /// <summary>This host's name as ledger names carry it.</summary>
    public static readonly string Host = Environment.MachineName.Replace(Separator, '_');

    /// <summary>This process's ledger name without the generation: host, pid and a nonce (pids are reused).</summary>
    public static readonly string Writer = $"{Host}{Separator}{Environment.ProcessId}{Separator}{Random.Shared.Next():x8}";

    private static readonly Dictionary<string, (int Generation, long Written)> Ledgers = new(StringComparer.Ordinal);
    private static readonly HashSet<string> Made = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    /// <summary>The ledgers of one finished folder: index/completed/ or index/dead/.</summary>
    public static string Folder(string root, string state) => Path.Combine(root, "index", state);

    /// <summary>Notes a move that succeeded, when it left or entered a finished folder.</summary>
    public static void Moved(string source, string destination)
    {
        if (FinishedFolder(source) is { } left)
        {
            Append(left.Root, '-', left.State, left.Id);
        }
        if (FinishedFolder(destination) is { } entered)
        {
            Append(entered.Root, '+', entered.State, entered.Id);
        }
    }

    /// <summary>completed/&lt;id&gt;.json or dead/&lt;id&gt;.json of a home: its root, state and id; else null.</summary>
    public static (string Root, string State, string Id)? FinishedFolder(string path)
    {
        var name = Path.GetFileName(path);
        var folder = Path.GetDirectoryName(path);
        if (folder is null || !QueueHome.IsJobFileName(name) || name.Contains('\n'))
        {
            return null;
        }
        var state = Path.GetFileName(folder);
        if (state is not (JobState.Completed or JobState.Dead) || Path.GetDirectoryName(folder) is not { } root)
        {
            return null;
        }
        return (root, state, name[..^".json".Length]);
    }

    private static void Append(string root, char sign, string state, string id)
    {
        var line = Encoding.UTF8.GetBytes($"{sign}{id}\n");
        var key = root + "/" + state;
        lock (Gate)
        {
            try
            {
                var (generation, written) = Ledgers.GetValueOrDefault(key);
                var path = Path.Combine(Folder(root, state), $"{Writer}{Separator}{generation}.log");
                if (Made.Add(key))
                {
                    Directory.CreateDirectory(Folder(root, state)); // once per process and folder
                }
                SafeFileHandle handle;
                try
                {
                    handle = Native.OpenAppend(path);
                }
                catch (IOException) when (!Directory.Exists(Folder(root, state)))
                {
                    Directory.CreateDirectory(Folder(root, state)); // index/ removed by hand meanwhile
                    handle = Native.OpenAppend(path);
                }
                using (var stream = new FileStream(handle, FileAccess.Write, bufferSize: 0))
                {
                    stream.Write(line); // one write(2) with O_APPEND: whole or not at all for a reader
                    written += line.Length;
                    // Past the cap, or not the file this process wrote (deleted by a fold and made
                    // again here: the index may hold an offset into the old one): the next
                    // generation from the next line on. This line is read in the new small file,
                    // whose length is below any old offset, from its start.
                    var length = stream.Length;
                    Ledgers[key] = length > RotateBytes || length != written ? (generation + 1, 0) : (generation, written);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left to the doubt rule (the folder is newer than every ledger line): a rebuild repairs it.
            }
        }
    }

    /// <summary>The writer part of a ledger file name (without generation) and its generation; null for other names.</summary>
    public static (string Writer, string Host, int Pid, int Generation)? ParseName(string fileName)
    {
        if (!fileName.EndsWith(".log", StringComparison.Ordinal))
        {
            return null;
        }
        var parts = fileName[..^4].Split(Separator);
        if (parts.Length != 4 || !int.TryParse(parts[1], out var pid) || !int.TryParse(parts[3], out var generation))
        {
            return null;
        }
        return ($"{parts[0]}{Separator}{parts[1]}{Separator}{parts[2]}", parts[0], pid, generation);
    }
}
