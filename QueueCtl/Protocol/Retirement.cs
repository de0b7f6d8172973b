namespace QueueCtl.Protocol;

/// <summary>The renames of things that leave: a finished job taken aside by retention, a full log rotated.</summary>
internal static class Retirement
{
    /// <summary>
    /// Takes a finished job file aside (into the retiring worker's staging folder) before its logs
    /// and the file are deleted: a plain rename, like a claim, so a racing retry or remove wins or
    /// loses whole. False when another process moved it first.
    /// </summary>
    public static bool TakeAside(string path, string taken) => JobMoves.Move(JobMove.Take, path, taken) == MoveResult.Moved;

    /// <summary>A log past its cap becomes &lt;path&gt;.1, replacing the previous one.</summary>
    public static void Rotate(string path) => File.Move(path, path + ".1", overwrite: true);
}
