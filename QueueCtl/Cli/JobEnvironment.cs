using System.Collections;
using System.Text;
using System.Text.Json;

namespace QueueCtl.Cli;

/// <summary>
/// The env a job gets from enqueue's --env-all and --env flags, merged into its "env" object.
/// From lowest to highest: the worker's own environment (at run time), --env-all, the JSON's
/// "env", then each --env in order. Names are checked by JobParser, like any "env".
/// </summary>
internal sealed class JobEnvironment
{
    /// <summary>Never copied by --env-all: they describe the caller's queuectl context, and the worker sets its own.</summary>
    private const string OwnPrefix = "QUEUECTL_";

    private readonly Dictionary<string, string> _under;
    private readonly List<KeyValuePair<string, string>> _over;

    private JobEnvironment(Dictionary<string, string> under, List<KeyValuePair<string, string>> over)
    {
        _under = under;
        _over = over;
    }

    public bool IsEmpty => _under.Count == 0 && _over.Count == 0;

    public static JobEnvironment FromOptions(EnqueueOptions options) =>
        From(options.Env, options.EnvAll, Environment.GetEnvironmentVariables());

    public static JobEnvironment From(IEnumerable<string> flags, bool all, IDictionary callerEnvironment)
    {
        var under = new Dictionary<string, string>(StringComparer.Ordinal);
        if (all)
        {
            var names = callerEnvironment.Keys.OfType<string>()
                .Where(name => !name.StartsWith(OwnPrefix, StringComparison.Ordinal))
                .Order(StringComparer.Ordinal);
            foreach (var name in names)
            {
                if (callerEnvironment[name] is string value)
                {
                    under[name] = value;
                }
            }
        }
        var over = new List<KeyValuePair<string, string>>();
        foreach (var flag in flags)
        {
            var equals = flag.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                over.Add(new(flag[..equals], flag[(equals + 1)..]));
                continue;
            }
            if (flag.Length == 0)
            {
                throw Failure.Usage("--env needs a variable name: --env K=V, or --env K to copy K from this environment.");
            }
            if (callerEnvironment[flag] is not string copied)
            {
                throw Failure.Usage($"--env {flag} copies {flag} from this environment, where it is not set; give --env {flag}=VALUE instead.");
            }
            over.Add(new(flag, copied));
        }
        return new JobEnvironment(under, over);
    }

    /// <summary>
    /// The job's JSON with its "env" merged; every other key copied as it is. Called on JSON that
    /// JobParser accepted, so the root is an object and "env", if there, maps names to strings.
    /// </summary>
    public string MergeInto(string json)
    {
        using var document = JsonDocument.Parse(json);
        var env = new Dictionary<string, string>(_under, StringComparer.Ordinal);
        if (document.RootElement.TryGetProperty("env", out var given) && given.ValueKind == JsonValueKind.Object)
        {
            foreach (var variable in given.EnumerateObject())
            {
                env[variable.Name] = variable.Value.GetString() ?? "";
            }
        }
        foreach (var (name, value) in _over)
        {
            env[name] = value;
        }

        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = QueueCtl.Jobs.PlainJsonEncoder.Instance }))
        {
            w.WriteStartObject();
            foreach (var property in document.RootElement.EnumerateObject().Where(p => p.Name != "env"))
            {
                property.WriteTo(w);
            }
            w.WriteStartObject("env");
            foreach (var (name, value) in env)
            {
                w.WriteString(name, value);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
