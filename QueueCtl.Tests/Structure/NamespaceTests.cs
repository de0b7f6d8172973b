using System.Text.RegularExpressions;

namespace QueueCtl.Tests.Structure;

/// <summary>
/// The shape of the source tree, read from the files (QueueCtl/**/*.cs, not bin/ or obj/): the
/// namespaces form a DAG in the layer order below, and nothing outside QueueCtl/Protocol/ renames
/// or links files. The root namespace QueueCtl is left out of the layers: Program is the top, and
/// the other root files (Failure, Clock, Timing, ByteSize, SecondsText) are leaves every layer may
/// use, so they must use no layer themselves.
/// </summary>
public partial class NamespaceTests
{
    /// <summary>Lowest first: a namespace may use only those before it (ARCHITECTURE.md, "Code map").</summary>
    private static readonly string[] Layers =
    [
        "QueueCtl.Jobs", "QueueCtl.Config", "QueueCtl.Retries", "QueueCtl.Storage", "QueueCtl.Protocol",
        "QueueCtl.Processing", "QueueCtl.Views", "QueueCtl.Dashboard", "QueueCtl.Cli",
    ];

    [Test]
    public void Namespaces_FormNoCycle()
    {
        var graph = Graph();
        var cycle = FindCycle(graph);
        Assert.That(cycle, Is.Null, () => "Namespace cycle: " + string.Join(" -> ", cycle!) + "\n" + Describe(graph));
    }

    [Test]
    public void Namespaces_UseOnlyLowerLayers()
    {
        var graph = Graph();
        var unknown = graph.Keys.Concat(graph.Values.SelectMany(v => v.Keys)).Distinct().Where(n => !Layers.Contains(n)).ToList();
        Assert.That(unknown, Is.Empty, "A namespace that is not in the layer order: add it to Layers (and to the code map).");
        var upward = graph
            .SelectMany(from => from.Value.Select(to => (From: from.Key, To: to.Key, Files: to.Value)))
            .Where(e => Array.IndexOf(Layers, e.To) > Array.IndexOf(Layers, e.From))
            .Select(e => $"{e.From} -> {e.To} ({string.Join(", ", e.Files)})")
            .ToList();
        Assert.That(upward, Is.Empty, "Edges against the layer order " + string.Join(" <- ", Layers));
    }

    [Test]
    public void RootLeaves_UseNoLayer()
    {
        var root = RepoRoot();
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "QueueCtl"), "*.cs").Where(f => Path.GetFileName(f) != "Program.cs"))
        {
            var used = Uses(WithoutComments(File.ReadAllText(file))).ToList();
            if (used.Count > 0)
            {
                offenders.Add($"{Path.GetRelativePath(root, file)}: {string.Join(", ", used)}");
            }
        }
        Assert.That(offenders, Is.Empty, "A file of the root namespace is a leaf under every layer: it may use none of them.");
    }

    [Test]
    public void OnlyProtocol_RenamesOrLinksFiles()
    {
        var offenders = FindInSources(RenamePrimitive(), skip: file => file.StartsWith("QueueCtl/Protocol/", StringComparison.Ordinal));
        Assert.That(offenders, Is.Empty, "Only QueueCtl/Protocol/ may rename or link files (JobMoves, AtomicFile, Renames).");
    }

    /// <summary>
    /// Files that may spell a fixed time outside QueueCtl/Timing.cs, and why: they define a unit, a
    /// limit, a display window or a formula's answer, not a wait or an interval of the machinery.
    /// </summary>
    private static readonly Dictionary<string, string> TimeLiteralsAllowed = new(StringComparer.Ordinal)
    {
        ["QueueCtl/Timing.cs"] = "the one home of fixed times",
        ["QueueCtl/Config/Duration.cs"] = "the longest duration a user may type (100 years)",
        ["QueueCtl/Retries/RetryPolicy.cs"] = "the backoff formula's answer when the base is not above 1",
        ["QueueCtl/Views/History.cs"] = "the buckets of the history windows (1h, 24h, 7d)",
        ["QueueCtl/Dashboard/DashboardApi.cs"] = "the \"last hour\" of the metrics",
        ["QueueCtl/Cli/Output.cs"] = "the units of a relative time (s, min, h, d)",
    };

    /// <summary>
    /// Every match of <paramref name="pattern"/> in the source files, comments left out, as
    /// "path: match" (paths from the repository root, with /); <paramref name="skip"/> leaves files out.
    /// </summary>
    private static List<string> FindInSources(Regex pattern, Func<string, bool>? skip = null)
    {
        var root = RepoRoot();
        var found = new List<string>();
        foreach (var file in SourceFiles(root))
        {
            var relative = Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (skip?.Invoke(relative) == true)
            {
                continue;
            }
            foreach (Match m in pattern.Matches(WithoutComments(File.ReadAllText(file))))
            {
                found.Add($"{relative}: {m.Value}");
            }
        }
        return found;
    }

    [Test]
    public void FixedTimes_LiveInTiming()
    {
        var offenders = FindInSources(TimeLiteral(), skip: TimeLiteralsAllowed.ContainsKey);
        Assert.That(offenders, Is.Empty, "A fixed time outside QueueCtl/Timing.cs: move it there, with a line saying what it is for.");
    }

    [Test]
    public void ClockReads_GoThroughTheInjectedTimeProvider()
    {
        // CliConsole chooses the system clock for the console (the one place it is chosen); Clock.cs
        // names the one exception: SharedFile's static ESTALE retry on Polly's default time.
        var offenders = FindInSources(DirectClockRead());
        Assert.That(offenders, Is.EqualTo(new[]
        {
            "QueueCtl/Cli/CliConsole.cs: TimeProvider.System",
            "QueueCtl/Storage/SharedFile.cs: new ResiliencePipelineBuilder()",
        }),
            "Read \"now\" and wait through the TimeProvider passed in (Clock.cs), not the machine's clock.");
    }

    [Test]
    public void TheCheck_SeesRenamesAndCycles()
    {
        // The checks above pass on an empty tree too: make sure they would see what they look for.
        Assert.That(RenamePrimitive().IsMatch("File.Move(a, b);"), Is.True);
        Assert.That(RenamePrimitive().IsMatch("Renames.Move(a, b, noReplace: true)"), Is.True);
        Assert.That(RenamePrimitive().IsMatch("[LibraryImport(\"libc\", EntryPoint = \"renameat2\")]"), Is.True);
        Assert.That(RenamePrimitive().IsMatch("AtomicFile.Write(home, path, bytes, noReplace: false)"), Is.False);
        Assert.That(TimeLiteral().IsMatch("TimeSpan.FromMilliseconds(10 * (look + 1))"), Is.True);
        Assert.That(TimeLiteral().IsMatch("TimeSpan.FromSeconds(settings.Current.OnFinishTimeoutSeconds)"), Is.False);
        Assert.That(DirectClockRead().IsMatch("$\"{name}.{DateTime.UtcNow:yyyyMMdd}\""), Is.True);
        Assert.That(DirectClockRead().IsMatch("Thread.Sleep(5)"), Is.True);
        Assert.That(DirectClockRead().IsMatch("new ResiliencePipelineBuilder { TimeProvider = time }"), Is.False);
        Assert.That(DirectClockRead().IsMatch("time.UtcNow()"), Is.False);
        Assert.That(DirectClockRead().IsMatch("await Task.Delay(wait);"), Is.True);
        Assert.That(DirectClockRead().IsMatch("await Task.Delay(wait, time, stop);"), Is.False);
        var cyclic = new Dictionary<string, Dictionary<string, List<string>>>
        {
            ["A"] = new() { ["B"] = ["a.cs"] },
            ["B"] = new() { ["C"] = ["b.cs"] },
            ["C"] = new() { ["A"] = ["c.cs"] },
        };
        Assert.That(FindCycle(cyclic), Is.EqualTo(new[] { "A", "B", "C", "A" }));
        var graph = Graph();
        Assert.That(graph["QueueCtl.Cli"].Keys, Does.Contain("QueueCtl.Protocol"), "the parser reads using lines");
        Assert.That(SourceFiles(RepoRoot()).Count(), Is.GreaterThan(50), "the source tree was found");
    }

    [Test]
    public void TheCheck_SeesUsingsAndReferencesByName()
    {
        // A short-form reference (Config.ByteSize inside namespace QueueCtl.Jobs) compiles without
        // a using: the graph must see it as an edge all the same.
        Assert.That(Uses("using QueueCtl.Config;"), Is.EqualTo(new[] { "QueueCtl.Config" }));
        Assert.That(Uses("using static QueueCtl.Config.Duration;"), Is.EqualTo(new[] { "QueueCtl.Config" }));
        Assert.That(Uses("using Size = QueueCtl.Config.ByteSize;"), Is.EqualTo(new[] { "QueueCtl.Config" }), "an alias using");
        Assert.That(Uses("var s = global::QueueCtl.Storage.Sub.X.Y();"), Is.EqualTo(new[] { "QueueCtl.Storage" }));
        Assert.That(Uses("var s = QueueCtl.Config.ByteSize.Format(1);"), Is.EqualTo(new[] { "QueueCtl.Config" }));
        Assert.That(Uses("var s = Config.ByteSize.Format(1);"), Is.EqualTo(new[] { "QueueCtl.Config" }), "a short-form reference");
        Assert.That(Uses("$\"{Processing.WorkerId.New()}\""), Is.EqualTo(new[] { "QueueCtl.Processing" }), "in an interpolation");
        Assert.That(Uses("var n = options.Config.Path + settings.Jobs.Count + myConfig.X;"), Is.Empty, "members, not namespaces");
        foreach (var layer in Layers)
        {
            Assert.That(Uses($"{layer["QueueCtl.".Length..]}.Type.Member"), Is.EqualTo(new[] { layer }), $"the short form of {layer} is in QualifiedReference");
        }
    }

    /// <summary>namespace → the QueueCtl.* namespaces its files use → which files.</summary>
    private static Dictionary<string, Dictionary<string, List<string>>> Graph()
    {
        var root = RepoRoot();
        var graph = new Dictionary<string, Dictionary<string, List<string>>>(StringComparer.Ordinal);
        foreach (var file in SourceFiles(root))
        {
            var code = WithoutComments(File.ReadAllText(file));
            var own = NamespaceLine().Match(code) is { Success: true } m ? Top(m.Groups[1].Value) : "QueueCtl";
            if (own == "QueueCtl")
            {
                continue;
            }
            var used = Uses(code).Where(n => n != own);
            var edges = graph.TryGetValue(own, out var found) ? found : graph[own] = new(StringComparer.Ordinal);
            foreach (var target in used)
            {
                (edges.TryGetValue(target, out var files) ? files : edges[target] = []).Add(Path.GetRelativePath(root, file));
            }
        }
        return graph;
    }

    /// <summary>A cycle as the namespaces along it (first repeated at the end), or null.</summary>
    private static List<string>? FindCycle(Dictionary<string, Dictionary<string, List<string>>> graph)
    {
        var done = new HashSet<string>();
        var path = new List<string>();
        List<string>? Visit(string node)
        {
            var at = path.IndexOf(node);
            if (at >= 0)
            {
                return [.. path[at..], node];
            }
            if (!done.Add(node))
            {
                return null;
            }
            path.Add(node);
            foreach (var next in graph.TryGetValue(node, out var edges) ? edges.Keys.Order(StringComparer.Ordinal).ToList() : [])
            {
                if (Visit(next) is { } cycle)
                {
                    return cycle;
                }
            }
            path.RemoveAt(path.Count - 1);
            return null;
        }
        foreach (var node in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (Visit(node) is { } cycle)
            {
                return cycle;
            }
        }
        return null;
    }

    /// <summary>The QueueCtl.* layers a file's code uses: its using lines and its references by name.</summary>
    private static IEnumerable<string> Uses(string code) =>
        UsingLine().Matches(code).Select(u => u.Groups[1].Value)
            .Concat(QualifiedReference().Matches(code).Select(q => "QueueCtl." + q.Groups["ns"].Value))
            .Select(Top)
            .Where(n => n != "QueueCtl")
            .Distinct();

    private static string Describe(Dictionary<string, Dictionary<string, List<string>>> graph) =>
        string.Join("\n", graph.SelectMany(f => f.Value.Select(t => $"  {f.Key} -> {t.Key}: {string.Join(", ", t.Value)}")));

    /// <summary>"QueueCtl.Processing.Sub" → "QueueCtl.Processing": a folder's namespace is its layer.</summary>
    private static string Top(string name) => string.Join('.', name.Split('.').Take(2));

    private static IEnumerable<string> SourceFiles(string root)
    {
        var sep = Path.DirectorySeparatorChar;
        return Directory.EnumerateFiles(Path.Combine(root, "QueueCtl"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{sep}bin{sep}", StringComparison.Ordinal) && !f.Contains($"{sep}obj{sep}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
    }

    /// <summary>The folder holding QueueCtl.sln, found from the test's own folder upwards.</summary>
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QueueCtl.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No QueueCtl.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>Drops // and /* */ comments (a comment naming File.Move is not a call). Strings are kept.</summary>
    private static string WithoutComments(string code) => Comment().Replace(code, m => m.Value.StartsWith('"') ? m.Value : "");

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();

    /// <summary>`using QueueCtl.X;`, `using static QueueCtl.X.T;` and the alias `using T = QueueCtl.X.T;`.</summary>
    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+|\w+\s*=\s*)?(?:global::)?(QueueCtl(?:\.\w+)+)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingLine();

    /// <summary>
    /// A reference by name instead of a using: `QueueCtl.Config.ByteSize`, and the short
    /// `Config.ByteSize` that compiles without a using inside any QueueCtl.* namespace (the
    /// enclosing QueueCtl namespace resolves it). The short form counts only a layer's name
    /// followed by a capitalised name, and never after a dot or a letter (`options.Config.Path`,
    /// `settings.Jobs.Count` are members, not namespaces).
    /// </summary>
    [GeneratedRegex(@"(?<![\w.])(?:global::)?(?:QueueCtl\.(?<ns>\w+)\.|(?<ns>Cli|Config|Dashboard|Jobs|Processing|Protocol|Retries|Storage|Views)\.[A-Z])")]
    private static partial Regex QualifiedReference();

    /// <summary>The machine's clock read or slept on directly, or a Polly pipeline built without a TimeProvider.</summary>
    [GeneratedRegex(@"\b(?:DateTime|DateTimeOffset)\.(?:UtcNow|Now|Today)\b|\bStopwatch\b|\bEnvironment\.TickCount|\bThread\.Sleep\s*\(|\bTimeProvider\.System\b|\bTask\.Delay\s*\([^,()]*\)|\bnew ResiliencePipelineBuilder\(\)")]
    private static partial Regex DirectClockRead();

    /// <summary>A TimeSpan made from a number written in the code (`TimeSpan.FromSeconds(2)`, `FromMilliseconds(10 * n)`).</summary>
    [GeneratedRegex(@"\bTimeSpan\.From\w+\(\s*\d")]
    private static partial Regex TimeLiteral();

    [GeneratedRegex(@"""(?:[^""\\\n]|\\.)*""|//[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comment();

    /// <summary>
    /// Calls that rename or link: .NET's moves, the protocol's own (Renames, JobMoves, the fenced
    /// rewrite), and a libc binding of rename/renameat/renameat2/link/linkat. AtomicFile.Write is
    /// allowed elsewhere (a worker record, a pause switch): it is the protocol's own write.
    /// </summary>
    [GeneratedRegex(@"\b(?:File|Directory)\.(?:Move|Replace)\s*\(|\.MoveTo\s*\(|\b(?:Renames|JobMoves)\.\w+|\bAtomicFile\.Replace\s*\(|EntryPoint\s*=\s*""(?:rename|renameat|renameat2|link|linkat)""")]
    private static partial Regex RenamePrimitive();
}
