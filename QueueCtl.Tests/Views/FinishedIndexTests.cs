using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Views;

/// <summary>
/// The finished index (Protocol/FinishedIndex.cs) against the folders it summarises: after every
/// kind of move into and out of completed/ and dead/, its count and its order are the folder's,
/// read from the ledgers without a rebuild; whatever moves a file without a ledger line (a crash
/// between the two, an rm or cp by hand, a torn snapshot) is found and rebuilt from the folder.
/// </summary>
public class FinishedIndexTests
{
    private static readonly DateTime Start = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
    private TempHome _temp = null!;
    private QueueHome _home = null!;
    private FinishedIndex _index = null!;
    private int _made;

    [SetUp]
    public void SetUp()
    {
        _temp = new TempHome();
        _home = new QueueHome(_temp.Root);
        _index = new FinishedIndex(_home);
    }

    [TearDown]
    public void TearDown() => _temp.Dispose();

    /// <summary>Well past the settle time of every change made so far.</summary>
    private static DateTime Later => DateTime.UtcNow + TimeSpan.FromMinutes(1);

    [Test]
    public void CountAndOrder_FollowTheLedgers_ThroughFinishesRetriesRemovesAndPurges_WithoutARebuild()
    {
        var completed = Enumerable.Range(0, 40).Select(_ => Finish(JobState.Completed)).ToList();
        var dead = Enumerable.Range(0, 10).Select(_ => Finish(JobState.Dead)).ToList();
        Finish(JobState.Completed, id: "custom-id", created: Start.AddDays(-1)); // no time in its id: read once for created_at
        Assert.That(_index.Rebuild(Later), Is.True);
        var built = Header(JobState.Completed).Built;
        AssertMatchesTheFolders();

        // Every mover of the protocol, after the snapshot: finishes, a retry, a remove, a purge, retention's take.
        completed.AddRange(Enumerable.Range(0, 15).Select(_ => Finish(JobState.Completed)));
        Assert.That(DeadLetterQueue.Revive(_home, dead[0], DateTime.UtcNow), Is.True);
        Assert.That(DeadLetterQueue.Revive(_home, completed[3], DateTime.UtcNow, JobState.Completed), Is.True);
        Assert.That(JobControl.Remove(_home, new JobStore(_home).Locate(completed[5])!), Is.EqualTo(TakeOutcome.Done));
        Directory.CreateDirectory(_home.Staging);
        Assert.That(Retirement.TakeAside(_home.JobPath(JobState.Completed, completed[7]), Path.Combine(_home.Staging, "x.json")), Is.True);
        _temp.Ok("purge", "--state", "dead");
        Finish(JobState.Dead, id: dead[0]); // the revived one dies again: +, -, + in the ledger
        Assert.That(Directory.GetFiles(_home.StateFolder(JobState.Dead)), Has.Length.EqualTo(1));

        AssertMatchesTheFolders();
        Assert.That(Header(JobState.Completed).Built, Is.EqualTo(built), "answered from snapshot + ledgers, not rebuilt");

        _index.Upkeep(Later + Timing.IndexFoldAfter); // lines older than Timing.IndexFoldAfter: folded
        var folded = Header(JobState.Completed);
        Assert.That(folded.Built, Is.EqualTo(built), "folded, not rebuilt");
        Assert.That(folded.Written, Is.GreaterThan(built), "the ledgers were folded into the snapshot");
        Assert.That(_index.Open(JobState.Completed, Later)!.LedgerLines, Is.Zero);
        AssertMatchesTheFolders();
    }

    [Test]
    public void AMoveWithoutItsLedgerLine_IsFoundOnceSettled_AndTheFolderRebuildsTheIndex()
    {
        Enumerable.Range(0, 5).ToList().ForEach(_ => Finish(JobState.Completed));
        Assert.That(_index.Rebuild(Later), Is.True);
        BackdateLedgers();

        // What a crash between rename and ledger line leaves, or a cp by hand: a file and no line.
        var id = JobId.New(DateTime.UtcNow);
        File.WriteAllBytes(_home.JobPath(JobState.Completed, id), JobJson.Serialize(NewJob(id, JobState.Completed, DateTime.UtcNow)));
        var changed = Directory.GetLastWriteTimeUtc(_home.StateFolder(JobState.Completed));
        Assert.That(_index.Open(JobState.Completed, changed + TimeSpan.FromSeconds(1))!.Count, Is.EqualTo(5),
            "within the settle time a ledger line may still be on its way: no rebuild yet");
        Assert.That(_index.Open(JobState.Completed, changed + Timing.IndexSettle)!.Count, Is.EqualTo(6), "settled: rebuilt from the folder");

        BackdateLedgers();
        File.SetLastWriteTimeUtc(_index.SnapshotPath(JobState.Completed), DateTime.UtcNow.AddHours(-1));
        File.Delete(_home.JobPath(JobState.Completed, id)); // an rm by hand
        Assert.That(_index.Open(JobState.Completed, Later)!.Count, Is.EqualTo(5));
        AssertMatchesTheFolders();
    }

    [Test]
    public void ATornOrMissingSnapshot_IsRebuiltFromTheFolder()
    {
        Enumerable.Range(0, 30).ToList().ForEach(_ => Finish(JobState.Completed));
        Assert.That(_index.Rebuild(Later), Is.True);
        var path = _index.SnapshotPath(JobState.Completed);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]); // a power cut mid-write
        Assert.That(_index.Open(JobState.Completed, Later)!.Count, Is.EqualTo(30));
        Assert.That(File.ReadAllText(path), Does.EndWith("end 30\n"));

        var built = Header(JobState.Completed).Built;
        _index.Invalidate(); // what recovery does after a worker died
        Assert.That(_index.Open(JobState.Dead, Later + TimeSpan.FromSeconds(1)), Is.Not.Null);
        Assert.That(Header(JobState.Completed).Built, Is.GreaterThan(built), "a doubt rebuilds both folders, whichever is read first");
        AssertMatchesTheFolders();
    }

    [Test]
    public void LedgersOfSeveralWriters_ReadInAnyOrder_SumToTheFoldersCount()
    {
        var first = Finish(JobState.Completed);
        Assert.That(_index.Rebuild(Later), Is.True);
        // After the snapshot, a job finished here, was retried by another process and finished here
        // again: +id (here), -id (there), +id (here). Read writer by writer, a running count clamped
        // at each line would end at 0.
        var id = JobId.New(Start.AddHours(1));
        File.WriteAllBytes(_home.JobPath(JobState.Completed, id), JobJson.Serialize(NewJob(id, JobState.Completed, Start.AddHours(1))));
        var ledgers = FinishedLedger.Folder(_home.Root, JobState.Completed);
        File.WriteAllText(Path.Combine(ledgers, $"{FinishedLedger.Writer}+7.log"), $"+{id}\n+{id}\n");
        File.WriteAllText(Path.Combine(ledgers, "other+1+00000000+0.log"), $"-{id}\n");
        var view = _index.Open(JobState.Completed, Later)!;
        Assert.That(view.Count, Is.EqualTo(2));
        Assert.That(view.Entries(newest: false).Select(e => e.Id), Is.EqualTo(new[] { first, id }));
        Assert.That(view.Entries(newest: true).Select(e => e.Id), Is.EqualTo(new[] { id, first }));
    }

    [Test]
    public void Fold_DeletesConsumedLedgersOfProcessesThatAreGone_AndKeepsLiveOnes()
    {
        var id = Finish(JobState.Completed);
        Assert.That(_index.Rebuild(Later), Is.True);
        var ledgers = FinishedLedger.Folder(_home.Root, JobState.Completed);
        var gone = Path.Combine(ledgers, $"{Environment.MachineName}+{int.MaxValue - 1}+00000000+0.log"); // no such pid
        var second = Finish(JobState.Completed);
        File.WriteAllText(gone, $"-{id}\n");
        File.Delete(_home.JobPath(JobState.Completed, id)); // what that process did
        var mine = Directory.GetFiles(ledgers).Single(p => p != gone);

        _index.Upkeep(Later + Timing.IndexFoldAfter); // folds its line in
        Assert.That(File.Exists(gone), Is.True, "not folded before this fold: kept until the next");
        _index.Upkeep(Later + Timing.IndexFoldAfter * 2);
        Assert.That(File.Exists(gone), Is.False, "folded, and its process is gone");
        Assert.That(File.Exists(mine), Is.True, "this process may append again");
        Assert.That(Header(JobState.Completed).Count, Is.EqualTo(1));
        Assert.That(_index.Open(JobState.Completed, Later)!.Entries(newest: true).Select(e => e.Id), Is.EqualTo(new[] { second }));
    }

    [Test]
    public void StatusAndList_AnswerFromTheIndex_AndAgreeWithTheFolders()
    {
        var ids = Enumerable.Range(0, 25).Select(_ => Finish(JobState.Completed)).ToList();
        Finish(JobState.Dead);
        var status = _temp.Ok("status", "--json");
        Assert.That(status, Does.Contain("\"completed\": 25").And.Contain("\"dead\": 1"));
        Assert.That(File.Exists(_index.SnapshotPath(JobState.Completed)), Is.True, "the first reader built the index");

        Finish(JobState.Completed); // through the ledger from here on
        Assert.That(_temp.Ok("status", "--json"), Does.Contain("\"completed\": 26"));
        var newest = _temp.Ok("list", "--state", "completed", "--newest", "--limit", "3").Split('\n').Skip(1).Take(3).Select(l => l.Split(' ')[0]);
        var all = Directory.GetFiles(_home.StateFolder(JobState.Completed)).Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToList();
        Assert.That(newest, Is.EqualTo(all.TakeLast(3).Reverse()));
        var oldest = _temp.Ok("list", "--limit", "2").Split('\n').Skip(1).Take(2).Select(l => l.Split(' ')[0]);
        Assert.That(oldest, Is.EqualTo(ids.Take(2)));
    }

    [Test]
    public void AnRmByHandOnABusyQueue_HiddenFromTheMtimeRule_IsRepairedByTheWorkersPeriodicRebuild()
    {
        Enumerable.Range(0, 10).ToList().ForEach(_ => Finish(JobState.Completed));
        Assert.That(_index.Rebuild(Later), Is.True);
        var built = Header(JobState.Completed).Built;
        foreach (var path in Directory.GetFiles(_home.StateFolder(JobState.Completed)).Take(5))
        {
            File.Delete(path); // no ledger line
        }
        Finish(JobState.Completed); // a later ledger line covers the folder's mtime
        Assert.That(_index.Open(JobState.Completed, built + TimeSpan.FromSeconds(5))!.Count, Is.EqualTo(11), "the mtime rule cannot see it");
        _index.Upkeep(built + Timing.IndexRebuildEvery + TimeSpan.FromSeconds(1));
        AssertMatchesTheFolders();
    }

    [Test]
    public void ALineThatARebuildsListingAlreadyCovered_IsCountedOnceByTheFold()
    {
        var id = Finish(JobState.Completed);
        Assert.That(_index.Rebuild(Later), Is.True);
        // The mover's line landed after the rebuild read the ledgers a second time.
        var ledger = Directory.GetFiles(FinishedLedger.Folder(_home.Root, JobState.Completed)).Single();
        File.AppendAllText(ledger, $"+{id}\n");
        Assert.That(_index.Open(JobState.Completed, Later)!.Entries(newest: false).Select(e => e.Id), Is.EqualTo(new[] { id }), "listed once");
        _index.Upkeep(Later + Timing.IndexFoldAfter);
        Assert.That(Header(JobState.Completed).Count, Is.EqualTo(1), "the fold settles the id by its file");
        var second = Finish(JobState.Completed);
        Assert.That(JobControl.Remove(_home, new JobStore(_home).Locate(id)!), Is.EqualTo(TakeOutcome.Done));
        _index.Upkeep(Later + Timing.IndexFoldAfter * 2);
        Assert.That(Header(JobState.Completed).Count, Is.EqualTo(1));
        Assert.That(_index.Open(JobState.Completed, Later + Timing.IndexFoldAfter * 2)!.Entries(newest: false).Select(e => e.Id), Is.EqualTo(new[] { second }));
    }

    [Test]
    public void ALedgerDeletedByAFold_AndWrittenAgainByItsWriter_IsReadFromItsStart()
    {
        Finish(JobState.Completed);
        Assert.That(_index.Rebuild(Later), Is.True);
        var folder = FinishedLedger.Folder(_home.Root, JobState.Completed);
        var quiet = Later + TimeSpan.FromMinutes(30); // this process's ledger has been silent long enough to be closed
        _index.Upkeep(quiet);
        _index.Upkeep(quiet + Timing.IndexFoldAfter);
        Assert.That(Directory.GetFiles(folder), Is.Empty, "folded, then deleted as quiet");

        var after = Finish(JobState.Completed); // the same writer, the same file name again
        var next = Finish(JobState.Completed);
        Assert.That(Directory.GetFiles(folder), Has.Length.EqualTo(2), "the writer moved to its next generation after finding its file made again");
        var view = _index.Open(JobState.Completed, quiet + Timing.IndexFoldAfter)!;
        Assert.That(view.Count, Is.EqualTo(3));
        Assert.That(view.Entries(newest: true).Select(e => e.Id).Take(2), Is.EqualTo(new[] { next, after }));
    }

    [Test]
    public void Invalidate_OnAHomeWithoutAnIndexYet_MarksItWithoutThrowing()
    {
        Assert.That(Directory.Exists(_index.Folder), Is.False);
        Assert.DoesNotThrow(() => _index.Invalidate());
        Finish(JobState.Dead);
        Assert.That(_index.Open(JobState.Dead, Later)!.Count, Is.EqualTo(1));
        Assert.That(File.Exists(Path.Combine(_index.Folder, "doubt")), Is.False, "the rebuild cleared the doubt");
    }

    private void AssertMatchesTheFolders()
    {
        foreach (var state in FinishedIndex.States)
        {
            var view = _index.Open(state, Later);
            Assert.That(view, Is.Not.Null, state);
            var truth = Directory.GetFiles(_home.StateFolder(state))
                .Select(p => JobStore.Read(state, p)!)
                .OrderBy(s => s.Job!.CreatedAt).ThenBy(s => s.Id, StringComparer.Ordinal)
                .Select(s => s.Id).ToList();
            Assert.That(view!.Count, Is.EqualTo(truth.Count), $"count of {state}/");
            Assert.That(view.Entries(newest: false).Select(e => e.Id), Is.EqualTo(truth), $"{state}/ oldest first");
            Assert.That(view.Entries(newest: true).Select(e => e.Id), Is.EqualTo(truth.AsEnumerable().Reverse()), $"{state}/ newest first");
        }
    }

    private FinishedIndex.Snapshot.Header Header(string state) => FinishedIndex.Snapshot.ReadHeader(_index.SnapshotPath(state))!;

    /// <summary>Ledger lines written a minute ago: a change to the folder after now is one they do not cover.</summary>
    private void BackdateLedgers()
    {
        foreach (var state in FinishedIndex.States)
        {
            var folder = FinishedLedger.Folder(_home.Root, state);
            foreach (var ledger in Directory.Exists(folder) ? Directory.GetFiles(folder) : [])
            {
                File.SetLastWriteTimeUtc(ledger, DateTime.UtcNow.AddMinutes(-1));
            }
        }
    }

    /// <summary>A job finished the way a worker finishes it: rewritten in its processing folder, then committed to its state's folder.</summary>
    private string Finish(string state, string? id = null, DateTime? created = null)
    {
        // Ids with distinct times, as JobId.New makes them a millisecond apart.
        var at = created ?? Start.AddMilliseconds(++_made);
        id ??= JobId.New(at);
        var folder = _home.ProcessingFolder("w-test");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, id + ".json");
        File.WriteAllBytes(path, JobJson.Serialize(NewJob(id, state, at)));
        Assert.That(ClaimedJob.MoveToState(_home, path, NewJob(id, state, at), at), Is.EqualTo(FinishOutcome.Finished));
        return id;
    }

    private static Job NewJob(string id, string state, DateTime created) =>
        JobParser.Parse($$"""{"id":"{{id}}","command":"true"}""", new JobDefaults(0, "/", created)) with { State = state, UpdatedAt = created };
}
