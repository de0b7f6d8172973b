using System.Text.Json;

namespace QueueCtl.Tests.Support;

/// <summary>Reads worker registrations, and lists every job file of a home wherever it is.</summary>
public static class WorkerFiles
{
    public static int Pid(TempHome home, string workerId)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(home.PathOf("workers", workerId + ".json")));
        return document.RootElement.GetProperty("pid").GetInt32();
    }

    /// <summary>Every job file under the state folders, as (state, id), processing included.</summary>
    public static List<(string State, string Id)> AllJobs(TempHome home)
    {
        var all = new List<(string, string)>();
        foreach (var state in new[] { "pending", "processing", "completed", "failed", "dead" })
        {
            foreach (var file in Directory.EnumerateFiles(home.PathOf(state), "*.json", SearchOption.AllDirectories))
            {
                all.Add((state, Path.GetFileNameWithoutExtension(file)));
            }
        }
        return all;
    }
}
