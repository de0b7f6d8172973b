using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// Keeps the finished index short and true in the background (FinishedIndex.Upkeep): every
/// <see cref="Timing.IndexUpkeepEvery"/> it folds the ledgers into the snapshots when they have
/// grown, and rebuilds from the folders when in doubt or every
/// <see cref="Timing.IndexRebuildEvery"/>. Whichever worker gets the lock does it.
/// </summary>
internal sealed class IndexUpkeep(QueueHome home, Action<string> log, TimeProvider time)
{
    private readonly RepeatedFailure _trouble = new();

    public async Task RunAsync(CancellationToken stop)
    {
        var index = new FinishedIndex(home);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Timing.IndexUpkeepEvery, time, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                index.Upkeep(time.UtcNow());
                _trouble.Cleared(time.UtcNow());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (_trouble.Occurred(time.UtcNow(), out var lasting))
                {
                    log($"finished index upkeep failed{lasting} (counts and pages list the folders meanwhile): {e.Message}");
                }
            }
        }
    }
}
