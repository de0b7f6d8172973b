namespace QueueCtl.Storage;

/// <summary>A path that names something other than a regular file: a FIFO, a device, a socket, a folder.</summary>
internal sealed class NotRegularFileException(string path, string kind)
    : IOException($"'{Path.GetFileName(path)}' is not a regular file but {kind}; a job must be a regular file.")
{
    public string Kind { get; } = kind;
}

/// <summary>
/// Reads a job file without ever blocking on something that is not one. Anyone who can write
/// pending/ can put a FIFO there (mkfifo), and open(2) of a FIFO waits for a writer forever: a
/// worker, `list` and `worker stop` would hang. So the path is stat'ed first (a device or FIFO is
/// never opened), then opened with O_NONBLOCK and the descriptor stat'ed again (the name may have
/// been swapped in between). A symlink is followed: one to a regular file reads as that file.
/// </summary>
internal static class RegularFile
{
    private const uint TypeMask = 0xF000;
    private const uint Regular = 0x8000;

    public static byte[] ReadAllBytes(string path)
    {
        using var stream = OpenRead(path);
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }

    /// <summary>
    /// Reads the first bytes of a regular file into <paramref name="buffer"/> and returns how many
    /// (fewer: the file is shorter). Without a FileStream: `status` reads every pending file's prefix.
    /// </summary>
    public static int ReadPrefix(string path, Span<byte> buffer)
    {
        using var handle = OpenHandle(path);
        var filled = 0;
        int read;
        while (filled < buffer.Length && (read = RandomAccess.Read(handle, buffer[filled..], filled)) > 0)
        {
            filled += read;
        }
        return filled;
    }

    /// <summary>Opens a regular file for reading (unbuffered); anything else throws <see cref="NotRegularFileException"/>.</summary>
    public static FileStream OpenRead(string path) => new(OpenHandle(path), FileAccess.Read, bufferSize: 0);

    private static Microsoft.Win32.SafeHandles.SafeFileHandle OpenHandle(string path)
    {
        var before = Native.Stat(path) ?? throw new FileNotFoundException($"Could not find file '{path}'.", path);
        Check(path, before.Mode);
        var handle = Native.OpenForReading(path);
        try
        {
            var opened = Native.Stat("", (int)handle.DangerousGetHandle())
                ?? throw new FileNotFoundException($"Could not find file '{path}'.", path);
            Check(path, opened.Mode);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static void Check(string path, uint mode)
    {
        var type = mode & TypeMask;
        if (type != Regular)
        {
            throw new NotRegularFileException(path, Describe(type));
        }
    }

    private static string Describe(uint type) => type switch
    {
        0x1000 => "a FIFO (named pipe)",
        0x2000 => "a character device",
        0x4000 => "a folder",
        0x6000 => "a block device",
        0xC000 => "a socket",
        _ => "not a plain file",
    };
}
