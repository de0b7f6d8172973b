using System.Text;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>
/// Quarantine for files that are not valid jobs: rejected/&lt;name&gt; beside &lt;name&gt;.reason.
/// Never deletes: the file is moved by rename, under a new name if the old one is taken
/// (&lt;name&gt;.&lt;stamp of <paramref name="now"/>&gt;-&lt;n&gt;, the caller's clock).
/// </summary>
internal static class Rejection
{
    public static string Reject(QueueHome home, string path, string reason, DateTime now)
    {
        var name = Path.GetFileName(path);
        for (var attempt = 0; ; attempt++)
        {
            var target = attempt == 0 ? name : $"{name}.{now:yyyyMMddHHmmssfff}-{attempt}";
            var destination = Path.Combine(home.Rejected, target);
            if (File.Exists(destination))
            {
                continue;
            }
            AtomicFile.Write(home, destination + ".reason", Encoding.UTF8.GetBytes(reason.TrimEnd() + "\n"), noReplace: false);
            switch (JobMoves.Move(JobMove.Commit, path, destination))
            {
                case MoveResult.Moved:
                    return destination;
                case MoveResult.SourceMissing:
                    File.Delete(destination + ".reason"); // RACE: someone else moved it first.
                    return destination;
                default:
                    File.Delete(destination + ".reason");
                    break; // RACE: the name was taken meanwhile; try another.
            }
        }
    }
}
