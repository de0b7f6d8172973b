using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using CommandLine;

namespace QueueCtl.Cli;

/// <summary>
/// A verb that takes a command after `--` (`queuectl enqueue -- printf '%s\n' "a b"`): the words
/// after the first `--`, never seen by the parser.
/// </summary>
internal interface ITakesCommandArguments
{
    IReadOnlyList<string>? CommandArguments { get; set; }
}

/// <summary>
/// The conventions every verb gets before CommandLineParser sees the arguments, without naming any
/// verb: global options (--home, --json, --quiet) before the verb are moved after it, `-h` is
/// `--help`, `help VERB` is `VERB --help`, the words after the first `--` are set apart, and an
/// option declared as a list (IEnumerable&lt;string&gt;) is repeatable, one value each time.
/// </summary>
internal static class ArgumentConventions
{
    private const string HomeOption = "--home";
    private static readonly string[] GlobalSwitches = ["--json", "--quiet"];

    /// <summary>The arguments for the parser, and the words after `--` (null when there is no `--`).</summary>
    public static (string[] Parsed, string[]? AfterDashDash) Normalize(string[] args)
    {
        var dashDash = Array.IndexOf(args, "--");
        var head = dashDash < 0 ? args : args[..dashDash];
        var tail = dashDash < 0 ? null : args[(dashDash + 1)..];

        var globals = new List<string>();
        var i = 0;
        while (i < head.Length)
        {
            var token = head[i];
            if (token == HomeOption && i + 1 < head.Length)
            {
                globals.Add(token);
                globals.Add(head[i + 1]);
                i += 2;
            }
            else if (token.StartsWith(HomeOption + "=", StringComparison.Ordinal) || Array.IndexOf(GlobalSwitches, token) >= 0)
            {
                globals.Add(token);
                i++;
            }
            else
            {
                break;
            }
        }
        // Appended, not inserted after the verb: `worker start` keeps its action in second place.
        var rest = new List<string>(head.Length - i + globals.Count);
        for (; i < head.Length; i++)
        {
            rest.Add(head[i] == "-h" ? "--help" : head[i]);
        }
        if (rest.Count > 0 && rest[0] == "help")
        {
            rest = rest.Count > 1 && !rest[1].StartsWith('-') ? [rest[1], "--help"] : ["--help"];
        }
        return (rest.Count == 0 ? [] : [.. rest, .. globals], tail);
    }

    /// <summary>
    /// Takes every `--name VALUE` and `--name=VALUE` of the verb's list options out of
    /// <paramref name="args"/> (CommandLineParser would refuse a repeat, or let a list eat the
    /// next words); <see cref="Assign"/> sets them once the parser has made the options object.
    /// A list option's Separator (such as ',') still splits each value.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2075",
        Justification = "The options types are kept whole in trimmed builds (TrimmerRootAssembly queuectl in QueueCtl.csproj).")]
    public static (string[] Others, Dictionary<PropertyInfo, List<string>> Lists) TakeListOptions(string[] args, IEnumerable<Type> verbs)
    {
        var lists = new Dictionary<PropertyInfo, List<string>>();
        var verb = args.Length > 0 ? verbs.FirstOrDefault(t => t.GetCustomAttribute<VerbAttribute>()?.Name == args[0]) : null;
        if (verb is null)
        {
            return (args, lists);
        }
        var options = verb.GetProperties()
            .Select(p => (Property: p, Option: p.GetCustomAttribute<OptionAttribute>()))
            .Where(p => p.Option is { LongName.Length: > 0 } && p.Property.PropertyType == typeof(IEnumerable<string>))
            .ToDictionary(p => "--" + p.Option!.LongName, StringComparer.Ordinal);
        var rest = new List<string> { args[0] };
        for (var i = 1; i < args.Length; i++)
        {
            var token = args[i];
            var equals = token.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? token[..equals] : token;
            if (!options.TryGetValue(name, out var option))
            {
                rest.Add(token);
                continue;
            }
            string value;
            if (equals > 0)
            {
                value = token[(equals + 1)..];
            }
            else if (i + 1 < args.Length)
            {
                value = args[++i];
            }
            else
            {
                throw Failure.Usage($"option '{name}' needs a value; see 'queuectl {args[0]} --help'.");
            }
            if (!lists.TryGetValue(option.Property, out var values))
            {
                lists[option.Property] = values = [];
            }
            var separator = option.Option!.Separator;
            values.AddRange(separator == '\0' ? [value] : value.Split(separator));
        }
        return ([.. rest], lists);
    }

    public static void Assign(object options, Dictionary<PropertyInfo, List<string>> lists)
    {
        foreach (var (property, values) in lists)
        {
            property.SetValue(options, values);
        }
    }

    /// <summary>
    /// One word for `sh -c`: as it is when it holds only characters the shell never reads
    /// specially, else in single quotes with each ' written '\''.
    /// </summary>
    public static string ShellQuote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "_@%+:,./-".Contains(c))
            ? word
            : "'" + word.Replace("'", @"'\''", StringComparison.Ordinal) + "'";

    /// <summary>The command line `sh -c` runs as exactly these words.</summary>
    public static string ShellJoin(IEnumerable<string> words) => string.Join(' ', words.Select(ShellQuote));
}
