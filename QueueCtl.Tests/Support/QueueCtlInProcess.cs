using System.Text;
using QueueCtl.Cli;

namespace QueueCtl.Tests.Support;

/// <summary>
/// Runs the CLI in this process through <c>Program.Run</c>, with its own console (string writers
/// and reader): what <see cref="QueueCtlProcess"/> does, without starting a process. Safe to call
/// from tests running in parallel, because commands talk only to their <see cref="CliConsole"/>.
/// What it cannot do (use the process then, and mark the test EndToEnd): a working directory or
/// environment of its own (the job's default cwd is this process's), signals, `worker start`
/// (it launches <see cref="Environment.ProcessPath"/>, which here is the test host) and the
/// dashboard server.
/// </summary>
public static class QueueCtlInProcess
{
    static QueueCtlInProcess()
    {
        // As QueueCtlProcess sets NO_COLOR=1: output compared as plain text. Colour rules are
        // tested on a real terminal (HousekeepingTests, EndToEnd).
        Output.UseColor = false;
    }

    public static CliResult Run(IEnumerable<string> args, string? stdin = null)
    {
        var stdout = new StringWriter(new StringBuilder()) { NewLine = "\n" };
        var stderr = new StringWriter(new StringBuilder()) { NewLine = "\n" };
        var console = new CliConsole(stdout, stderr, new StringReader(stdin ?? ""));
        var exitCode = Program.Run([.. args], console);
        return new CliResult(exitCode, stdout.ToString(), stderr.ToString());
    }
}
