using System.Diagnostics;
using QueueCtl.Tests.Support;

namespace QueueCtl.Tests.Cli;

/// <summary>`list` without --limit: one screenful and a note on a terminal, everything when piped.</summary>
public class ListLimitTests
{
    private static TempHome HomeWith(int jobs)
    {
        var home = new TempHome();
        var lines = string.Concat(Enumerable.Range(0, jobs).Select(i => $$"""{"id":"j{{i:000}}","command":"true"}""" + "\n"));
        var result = home.RunWithInput(lines, "enqueue", "-");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        return home;
    }

    /// <summary>Runs queuectl under script(1), so its stdout is a terminal.</summary>
    private static string OnTerminal(TempHome home, params string[] args)
    {
        EndToEnd.Require("script(1)");
        var command = string.Join(" ", new[] { QueueCtlProcess.Executable }.Concat(args).Concat(["--home", home.Root]).Select(a => $"'{a}'"));
        var start = new ProcessStartInfo("script") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-qec", command, "/dev/null" })
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(30_000), Is.True);
        Assert.That(process.ExitCode, Is.EqualTo(0), output);
        return output;
    }

    [Category("EndToEnd")] // script(1) runs the executable
    [Test]
    public void List_OnATerminal_ShowsFiftyJobs_AndSaysHowManyMore()
    {
        using var home = HomeWith(60);
        var lines = OnTerminal(home, "list").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines.Count(l => l.StartsWith("j0", StringComparison.Ordinal)), Is.EqualTo(50));
        Assert.That(lines[^1].Trim(), Is.EqualTo("… 10 more; use --limit 0 for all, or --limit N."));
        Assert.That(OnTerminal(home, "list", "--limit", "0").Split('\n').Count(l => l.StartsWith("j0", StringComparison.Ordinal)), Is.EqualTo(60));
        Assert.That(OnTerminal(home, "list", "--limit", "55"), Does.Not.Contain("more;"), "an explicit limit needs no note");
    }

    [Test]
    public void List_Piped_ShowsEveryJob_WithoutANote()
    {
        using var home = HomeWith(60);
        var output = home.Ok("list");
        Assert.That(output.Split('\n').Count(l => l.StartsWith("j0", StringComparison.Ordinal)), Is.EqualTo(60));
        Assert.That(output, Does.Not.Contain("more;"));
        Assert.That(home.Json("list").GetArrayLength(), Is.EqualTo(60));
    }
}
