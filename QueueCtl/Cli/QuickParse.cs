using System.Globalization;

namespace QueueCtl.Cli;

/// <summary>
/// The arguments of the two commands scripts run most, `enqueue` and `status`, read without
/// CommandLineParser, whose reflection over an options type was most of their start-up. Only the
/// plain forms are read here: each option once (the lists --env and --label any number of times),
/// as `--name VALUE` or `--name=VALUE`, a value that does not start with '-', numbers as plain digits. Anything else (help, an unknown or repeated
/// option, a value that looks like an option) returns null and the full parser decides, with its
/// errors and help. QuickParseTests checks that both read every accepted form alike.
/// </summary>
internal static class QuickParse
{
    /// <summary>The options object, or null for the full parser. <paramref name="args"/> are normalized (ArgumentConventions).</summary>
    public static object? TryParse(string[] args) => args.Length == 0 ? null : args[0] switch
    {
        "status" => Read(args, new StatusOptions(), static (_, _, _) => false, static (_, _) => false),
        "enqueue" => Read(args, new EnqueueOptions(), Enqueue, EnqueueValue),
        _ => null,
    };

    /// <summary>One option with a value: false when the verb has no such option or the value is not plain.</summary>
    private delegate bool Option<in T>(T options, string name, string value);

    private static T? Read<T>(string[] args, T options, Option<T> option, Func<T, string, bool> positional)
        where T : DataOptions
    {
        var seen = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            var token = args[i];
            if (!token.StartsWith('-') || token == "-")
            {
                if (!positional(options, token))
                {
                    return null;
                }
                continue;
            }
            if (!token.StartsWith("--", StringComparison.Ordinal) || token.Length == 2)
            {
                return null;
            }
            var equals = token.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? token[2..equals] : token[2..];
            if (name is not ("env" or "label"))
            {
                if (seen.Contains(name))
                {
                    return null;
                }
                seen.Add(name);
            }
            if (name is "json" or "quiet" or "env-all")
            {
                if (equals > 0 || !Switch(options, name))
                {
                    return null;
                }
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
                return null;
            }
            if (value.StartsWith('-') || value.Length == 0)
            {
                return null;
            }
            if (name == "home")
            {
                options.Home = value;
            }
            else if (!option(options, name, value))
            {
                return null;
            }
        }
        return options;
    }

    private static bool Switch(DataOptions options, string name)
    {
        switch (name)
        {
            case "json":
                options.Json = true;
                return true;
            case "quiet":
                options.Quiet = true;
                return true;
            case "env-all" when options is EnqueueOptions enqueue:
                enqueue.EnvAll = true;
                return true;
            default:
                return false;
        }
    }

    private static bool Enqueue(EnqueueOptions options, string name, string value)
    {
        switch (name)
        {
            case "command":
                options.Command = value;
                return true;
            case "id":
                options.Id = value;
                return true;
            case "run-at":
                options.RunAt = value;
                return true;
            case "delay":
                options.Delay = value;
                return true;
            case "timeout":
                options.Timeout = value;
                return true;
            case "file":
                options.File = value;
                return true;
            case "queue":
                options.Queue = value;
                return true;
            case "env":
                options.Env = [.. options.Env, value];
                return true;
            case "label":
                options.Label = [.. options.Label, value];
                return true;
            case "max-retries":
                return Number(value, n => options.MaxRetries = n);
            case "priority":
                return Number(value, n => options.Priority = n);
            default:
                return false;
        }
    }

    /// <summary>The JSON job first, then any further words (EnqueueCommand says they want `--`).</summary>
    private static bool EnqueueValue(EnqueueOptions options, string token)
    {
        if (options.JobJson is null)
        {
            options.JobJson = token;
        }
        else
        {
            options.MoreWords = [.. options.MoreWords, token];
        }
        return true;
    }

    private static bool Number(string value, Action<int> set)
    {
        if (value.Length > 9 || !value.All(char.IsAsciiDigit))
        {
            return false;
        }
        set(int.Parse(value, CultureInfo.InvariantCulture));
        return true;
    }
}
