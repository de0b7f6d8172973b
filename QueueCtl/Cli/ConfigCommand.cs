using CommandLine;
using QueueCtl.Config;
using QueueCtl.Protocol;

namespace QueueCtl.Cli;

[Verb("config", HelpText = "Read or change settings: config set KEY VALUE | config get KEY | config list.")]
internal sealed class ConfigOptions : DataOptions
{
    [Value(0, MetaName = "action", Required = true, HelpText = "set, get or list.")]
    public string Action { get; set; } = "";

    [Value(1, MetaName = "key", HelpText = "max-retries, backoff-base, backoff-max, job-timeout, worker-lease, log-max-size, on-finish, on-finish-timeout (snake_case works too), or queue.Q.concurrency.")]
    public string? Key { get; set; }

    [Value(2, MetaName = "value", HelpText = "The new value (with set).")]
    public string? Value { get; set; }
}

internal static class ConfigCommand
{
    public static int Run(ConfigOptions options, CliConsole console)
    {
        var home = options.Action == "set" ? options.ResolveHomeCreatedOnFirstUse() : options.ResolveHome();
        switch (options.Action)
        {
            case "set":
            {
                if (options.Key is null || options.Value is null)
                {
                    throw Failure.Usage("Usage: queuectl config set KEY VALUE.");
                }
                var key = SettingKeys.Find(options.Key);
                // A corrupt config.json must not lock the user out of the one tool that rewrites it:
                // set starts from defaults, and the old file is kept aside (after the value is accepted).
                var current = ConfigStore.LoadForRepair(home);
                var settings = key.Apply(options.Value, current.Settings);
                home.EnsureCreated();
                if (current.CorruptReason is not null)
                {
                    var aside = ConfigStore.KeepCorrupt(home, console.Clock.UtcNow());
                    console.Error.WriteLine(
                        $"queuectl: warning: {home.ConfigFile} was not valid ({current.CorruptReason}); it was kept as {aside} and the other settings are back to their defaults.");
                }
                Warn(console, current.Problems.Where(p => !p.StartsWith(key.SnakeName + " ", StringComparison.Ordinal)).ToList());
                ConfigStore.Save(home, settings);
                console.Out.WriteLine($"{key.Name} = {key.Show(settings)}");
                return 0;
            }
            case "get":
            {
                if (options.Key is null || options.Value is not null)
                {
                    throw Failure.Usage("Usage: queuectl config get KEY.");
                }
                var key = SettingKeys.Find(options.Key);
                var problems = new List<string>();
                var value = key.Show(ConfigStore.Load(home, problems));
                Warn(console, problems);
                if (options.Json)
                {
                    Output.Json(console.Out, w =>
                    {
                        w.WriteStartObject();
                        w.WriteString(key.Name, value);
                        w.WriteEndObject();
                    });
                }
                else
                {
                    console.Out.WriteLine(value);
                }
                return 0;
            }
            case "list":
            {
                if (options.Key is not null)
                {
                    throw Failure.Usage("Usage: queuectl config list.");
                }
                var problems = new List<string>();
                var settings = ConfigStore.Load(home, problems);
                Warn(console, problems);
                if (options.Json)
                {
                    Output.Json(console.Out, w =>
                    {
                        w.WriteStartObject();
                        foreach (var key in SettingKeys.All.Concat(SettingKeys.QueueConcurrencyKeys(settings)))
                        {
                            w.WriteString(key.Name, key.Show(settings));
                        }
                        w.WriteEndObject();
                    });
                }
                else
                {
                    Output.Table(console.Out, SettingKeys.All.Concat(SettingKeys.QueueConcurrencyKeys(settings)).Select(k => new[] { k.Name, k.Show(settings), k.Description }).ToList());
                }
                return 0;
            }
            default:
                throw Failure.Usage($"Unknown config action '{options.Action}'; use set, get or list.");
        }
    }

    /// <summary>Values of config.json that are not used as written (out of range): one line each on stderr.</summary>
    private static void Warn(CliConsole console, List<string> problems)
    {
        foreach (var problem in problems)
        {
            console.Error.WriteLine($"queuectl: warning: {problem}");
        }
    }
}
