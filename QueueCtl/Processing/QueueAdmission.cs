using QueueCtl.Protocol;

namespace QueueCtl.Processing;

/// <summary>
/// One worker's side of the concurrency limits: a queue with `queue.Q.concurrency` admits a job
/// only with a slot (<see cref="QueueSlots"/>), taken before the job's claim and freed after its
/// finish. A release that hits an I/O error is retried at the next turn of the loop.
/// </summary>
internal sealed class QueueAdmission(Storage.QueueHome home, string workerId, SettingsWatcher settings, Action<string> log)
{
    private readonly List<HeldSlot> _unreleased = [];
    private HeldSlot? _admitted;

    /// <summary>For <see cref="JobIndex.TakeNext"/>: true when the candidate's queue has no limit, or a slot was taken for it.</summary>
    public bool Admit(Candidate candidate) =>
        candidate.Doomed is not null || Admit(candidate.Queue, Path.GetFileNameWithoutExtension(candidate.Path)); // a doomed job does not run

    public bool Admit(string queue, string jobName)
    {
        if (settings.Current.LimitOf(queue) is not { } limit)
        {
            return true;
        }
        _admitted = QueueSlots.TryAcquire(home, queue, limit, workerId, jobName);
        return _admitted is not null;
    }

    /// <summary>The slot the last successful <see cref="Admit(Candidate)"/> took, handed over once.</summary>
    public HeldSlot? TakeAdmitted()
    {
        var slot = _admitted;
        _admitted = null;
        return slot;
    }

    /// <summary>Frees a slot (null: none was needed); an I/O error keeps it for <see cref="RetryReleases"/>.</summary>
    public void Release(HeldSlot? slot)
    {
        if (slot is null)
        {
            return;
        }
        try
        {
            QueueSlots.Release(slot);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log($"could not free slot {slot.Queue}/{slot.Index} yet: {e.Message}");
            _unreleased.Add(slot);
        }
    }

    /// <summary>Frees the slots whose release failed before.</summary>
    public void RetryReleases()
    {
        if (_unreleased.Count == 0)
        {
            return;
        }
        var again = _unreleased.ToList();
        _unreleased.Clear();
        again.ForEach(Release);
    }
}
