using System.Reflection;
using CommandLine;
using QueueCtl.Cli;

namespace QueueCtl.Tests.Cli;

/// <summary>
/// `enqueue` and `status` are read without CommandLineParser when their words are plain
/// (QuickParse): every form it accepts must give the options CommandLineParser gives, and every
/// other form must go to CommandLineParser. Also: the verb table names each verb as its [Verb] does.
/// </summary>
public class QuickParseTests
{
    private static readonly string[][] Accepted =
    [
        ["status"],
        ["status", "--json", "--quiet", "--home", "/tmp/h"],
        ["status", "--home=/tmp/h"],
        ["enqueue", "--command", "true"],
        ["enqueue", "--command", "echo a b", "--id", "j1", "--max-retries", "3", "--priority", "10", "--json"],
        ["enqueue", "--command=sleep 1", "--run-at", "2025-11-04T10:30:00Z", "--timeout", "5m", "--queue", "q1"],
        ["enqueue", "--command", "true", "--delay", "10s", "--env", "A=1", "--env", "B", "--label", "x", "--env-all"],
        ["enqueue", "{\"command\":\"true\"}", "--home", "/tmp/h", "--quiet"],
        ["enqueue", "-"],
        ["enqueue", "--file", "jobs.jsonl"],
        ["enqueue", "echo", "hi", "there"],
    ];

    private static readonly string[][] LeftToTheLibrary =
    [
        [],
        ["--help"],
        ["status", "--help"],
        ["status", "--bogus"],
        ["status", "--json", "--json"],
        ["status", "--json=true"],
        ["enqueue", "--command"],
        ["enqueue", "--command", "-x"],
        ["enqueue", "--command", ""],
        ["enqueue", "--command", "a", "--command", "b"],
        ["enqueue", "--priority", "-1", "--command", "a"],
        ["enqueue", "--priority", "ten", "--command", "a"],
        ["enqueue", "--max-retries", "99999999999", "--command", "a"],
        ["enqueue", "-c", "true"],
        ["enqueue", "--version"],
        ["list"],
        ["worker", "start"],
    ];

    [TestCaseSource(nameof(Accepted))]
    public void AcceptedForms_GiveWhatCommandLineParserGives(string[] args)
    {
        var quick = QuickParse.TryParse(args);
        Assert.That(quick, Is.Not.Null, "a plain form, read without the library");

        var verbs = CommandLineEntry.VerbsFor(args);
        var (rest, lists) = ArgumentConventions.TakeListOptions(args, verbs);
        var full = CommandLineEntry.ParseWithLibrary(rest, verbs);
        Assert.That(full, Is.InstanceOf<Parsed<object>>());
        ArgumentConventions.Assign(full.Value, lists);

        Assert.That(quick!.GetType(), Is.EqualTo(full.Value.GetType()));
        Assert.That(Describe(quick), Is.EqualTo(Describe(full.Value)));
    }

    [TestCaseSource(nameof(LeftToTheLibrary))]
    public void OtherForms_AreLeftToCommandLineParser(string[] args)
    {
        Assert.That(QuickParse.TryParse(args), Is.Null);
    }

    [Test]
    public void VerbTable_NamesEachVerbAsItsAttributeDoes()
    {
        foreach (var (name, options) in CommandLineEntry.VerbTable)
        {
            Assert.That(options.GetCustomAttribute<VerbAttribute>()?.Name, Is.EqualTo(name), options.Name);
        }
        var verbTypes = typeof(CommandLineEntry).Assembly.GetTypes().Where(t => t.GetCustomAttribute<VerbAttribute>() is not null);
        Assert.That(CommandLineEntry.Verbs, Is.EquivalentTo(verbTypes), "every [Verb] type is in the table");
    }

    [Test]
    public void VerbsFor_GivesTheAskedVerbOnly_OrAllForAnythingElse()
    {
        Assert.That(CommandLineEntry.VerbsFor(["enqueue", "--command", "true"]), Is.EqualTo(new[] { typeof(EnqueueOptions) }));
        Assert.That(CommandLineEntry.VerbsFor(["--help"]), Is.EqualTo(CommandLineEntry.Verbs));
        Assert.That(CommandLineEntry.VerbsFor(["enqeue"]), Is.EqualTo(CommandLineEntry.Verbs));
        Assert.That(CommandLineEntry.VerbsFor([]), Is.EqualTo(CommandLineEntry.Verbs));
    }

    /// <summary>Every public property's value, lists joined, in one comparable line.</summary>
    private static string Describe(object options) => string.Join("; ", options.GetType()
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanRead && p.GetIndexParameters().Length == 0)
        .OrderBy(p => p.Name, StringComparer.Ordinal)
        .Select(p => $"{p.Name}={Text(p.GetValue(options))}"));

    private static string Text(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        System.Collections.IEnumerable items => "[" + string.Join(",", items.Cast<object?>().Select(Text)) + "]",
        _ => value.ToString() ?? "",
    };
}
