using System.Reflection;
using CommandLine;
using CommandLine.Text;

namespace QueueCtl.Cli;

/// <summary>Parses the arguments, maps help/version to stdout and exit 0, parse errors to one sentence and exit 2.</summary>
internal static class CommandLineEntry
{
    /// <summary>
    /// Each verb's name (its [Verb] attribute's, which a test checks) and options type, in help
    /// order. The name picks the one type the parser is given: CommandLineParser reads every
    /// type it is handed by reflection, which was most of a command's start-up.
    /// </summary>
    public static readonly (string Name, Type Options)[] VerbTable =
    [
        ("init", typeof(InitOptions)), ("enqueue", typeof(EnqueueOptions)), ("status", typeof(StatusOptions)),
        ("list", typeof(ListOptions)), ("show", typeof(ShowOptions)), ("logs", typeof(LogsOptions)),
        ("worker", typeof(WorkerOptions)), ("dlq", typeof(DlqOptions)), ("stats", typeof(StatsOptions)),
        ("purge", typeof(PurgeOptions)), ("recover", typeof(RecoverOptions)), ("config", typeof(ConfigOptions)),
        ("dashboard", typeof(DashboardOptions)), ("completion", typeof(CompletionOptions)),
        ("pause", typeof(PauseOptions)), ("resume", typeof(ResumeOptions)),
        ("wait", typeof(WaitOptions)), ("cancel", typeof(CancelOptions)), ("remove", typeof(RemoveOptions)),
        ("retry", typeof(RetryOptions)),
    ];

    public static readonly Type[] Verbs = [.. VerbTable.Select(v => v.Options)];

    /// <summary>The options type of the verb in first place, or every verb's (no verb, --help, --version, a typo).</summary>
    public static Type[] VerbsFor(string[] args)
    {
        if (args.Length > 0)
        {
            foreach (var (name, options) in VerbTable)
            {
                if (name == args[0])
                {
                    return [options];
                }
            }
        }
        return Verbs;
    }

    public static string Version =>
        typeof(CommandLineEntry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static int Run(string[] rawArgs, CliConsole console)
    {
        var (normalized, afterDashDash) = ArgumentConventions.Normalize(rawArgs);
        var options = QuickParse.TryParse(normalized);
        if (options is null)
        {
            var verbs = VerbsFor(normalized);
            var (args, lists) = ArgumentConventions.TakeListOptions(normalized, verbs);
            var result = ParseWithLibrary(args, verbs);
            if (result is NotParsed<object> notParsed)
            {
                return Refuse(result, notParsed.Errors.ToList(), args, console);
            }
            ArgumentConventions.Assign(result.Value, lists);
            options = result.Value;
        }
        if (afterDashDash is not null)
        {
            if (options is not ITakesCommandArguments takesCommand)
            {
                throw Failure.Usage("This command takes no '--'; it is for a command to run, as in `queuectl enqueue -- CMD ARGS…`.");
            }
            takesCommand.CommandArguments = afterDashDash;
        }

        return options switch
        {
            InitOptions o => InitCommand.Run(o, console),
            EnqueueOptions o => EnqueueCommand.Run(o, console),
            StatusOptions o => StatusCommand.Run(o, console),
            ListOptions o => ListCommand.Run(o, console),
            ShowOptions o => ShowCommand.Run(o, console),
            ConfigOptions o => ConfigCommand.Run(o, console),
            WorkerOptions o => WorkerCommand.Run(o, console),
            DlqOptions o => DlqCommand.Run(o, console),
            RecoverOptions o => RecoverCommand.Run(o, console),
            LogsOptions o => LogsCommand.Run(o, console),
            StatsOptions o => StatsCommand.Run(o, console),
            PurgeOptions o => PurgeCommand.Run(o, console),
            DashboardOptions o => DashboardCommand.Run(o, console),
            CompletionOptions o => CompletionCommand.Run(o, console),
            PauseOptions o => PauseCommand.Pause(o, console),
            ResumeOptions o => PauseCommand.Resume(o, console),
            WaitOptions o => WaitCommand.Run(o, console),
            CancelOptions o => CancelCommand.Run(o, console),
            RemoveOptions o => RemoveCommand.Run(o, console),
            RetryOptions o => RetryCommand.Run(o, console),
            _ => throw new InvalidOperationException($"No handler for {options.GetType().Name}."),
        };
    }

    /// <summary>CommandLineParser with queuectl's settings; list options already taken out (ArgumentConventions).</summary>
    public static ParserResult<object> ParseWithLibrary(string[] args, Type[] verbs)
    {
        using var parser = new Parser(settings =>
        {
            settings.HelpWriter = null;
            settings.CaseSensitive = true;
            settings.MaximumDisplayWidth = 80;
            settings.AllowMultiInstance = false;
        });
        return parser.ParseArguments(args, verbs);
    }

    private static int Refuse(ParserResult<object> result, List<Error> errors, string[] args, CliConsole console)
    {
        if (errors.IsVersion())
        {
            console.Out.WriteLine($"queuectl {Version}");
            return 0;
        }
        if (errors.IsHelp())
        {
            console.Out.Write(Help(result));
            return 0;
        }
        var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : null;
        var seeHelp = verb is null || errors.Any(e => e is BadVerbSelectedError)
            ? "run 'queuectl --help' for the commands"
            : $"see 'queuectl {verb} --help'";
        console.Error.WriteLine($"queuectl: {Describe(errors[0])}; {seeHelp}.");
        return Failure.InvalidUsage;
    }

    public static string Help(ParserResult<object> result)
    {
        var help = HelpText.AutoBuild(result, h =>
        {
            h.Heading = $"queuectl {Version}";
            h.Copyright = "A background job queue for shell commands, stored in plain folders.";
            h.AdditionalNewLineAfterOption = false;
            h.AddDashesToOption = true;
            h.MaximumDisplayWidth = 80;
            if (result.TypeInfo.Current == typeof(NullInstance))
            {
                h.AddPostOptionsLine("--home DIR, --json and --quiet go before or after the command; 'queuectl help COMMAND' or 'queuectl COMMAND -h' shows its options.");
            }
            return h;
        }, e => e, verbsIndex: true);
        return help.ToString().TrimEnd() + Environment.NewLine;
    }

    private static string Describe(Error error) => error switch
    {
        NoVerbSelectedError => "no command given",
        BadVerbSelectedError e => $"unknown command '{e.Token}'",
        UnknownOptionError e => $"unknown option '{Dashed(e.Token)}'",
        MissingRequiredOptionError e => e.NameInfo.LongName.Length > 0 || e.NameInfo.ShortName.Length > 0
            ? $"missing required {Name(e.NameInfo)}"
            : "a required argument is missing",
        MissingValueOptionError e => $"option {Name(e.NameInfo)} needs a value",
        BadFormatConversionError e => $"the value of {Name(e.NameInfo)} has the wrong format",
        RepeatedOptionError e => $"option {Name(e.NameInfo)} is given more than once",
        SequenceOutOfRangeError e => $"option {Name(e.NameInfo)} has the wrong number of values",
        _ => $"invalid arguments ({error.Tag})",
    };

    private static string Dashed(string token) => token.Length == 1 ? "-" + token : "--" + token;

    private static string Name(NameInfo name) =>
        name.LongName.Length > 0 ? $"'--{name.LongName}'" : name.ShortName.Length > 0 ? $"'-{name.ShortName}'" : "argument";
}
