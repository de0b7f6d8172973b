using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// A small bash process beside each worker that kills the worker's running jobs when the worker
/// can no longer answer for them, so that no job runs beside its re-run:
/// - the worker died (kill -9, OOM killer, a crash): the guard reads end-of-file on its stdin, a
///   pipe whose only writer was the worker, and kills at once;
/// - the worker is frozen (SIGSTOP, a debugger) or cut off from the home: it stops telling the
///   guard that it renewed its registration, and the guard kills when the renewal is older than
///   the fence (half the lease), before any other worker may judge it dead (a full lease).
/// "Kill" is SIGKILL to each running job's process group, then to every process on the host
/// whose environment carries QUEUECTL_WORKER_ID=&lt;worker&gt; (<see cref="JobProcesses"/>: what
/// left the group with setsid). The guard leads its own session (Ctrl-Z on a foreground worker
/// does not stop it) and gets a minimal environment, so it never matches its own search.
/// Protocol, one line per write (atomic: shorter than PIPE_BUF): `+ PGID` a job started, `- PGID`
/// it ended, `r MS` renewed, MS milliseconds of fence left, `q` graceful stop: exit without killing.
/// </summary>
internal sealed class RunGuard : IDisposable
{
    private const string Script = """
        w=$1; declare -A groups=(); deadline=0
        say() { printf '%(%Y-%m-%dT%H:%M:%S)TZ %s guard: %s\n' -1 "$w" "$1" >&2; }
        kill_jobs() {
          local pg e p n=0 env
          for pg in "${!groups[@]}"; do kill -KILL -- "-$pg" 2>/dev/null && n=$((n+1)); done
          groups=()
          for e in /proc/[0-9]*/environ; do
            mapfile -d '' -t env 2>/dev/null < "$e" || continue
            for p in "${env[@]}"; do
              if [[ $p == "QUEUECTL_WORKER_ID=$w" ]]; then p=${e#/proc/}; kill -KILL "${p%/environ}" 2>/dev/null && n=$((n+1)); break; fi
            done
          done
          if ((n > 0)); then say "$1: killed $n job process group(s) or process(es)"; fi
        }
        while :; do
          if ((deadline > 0)); then
            left=$((deadline - ${EPOCHREALTIME/./}))
            if ((left <= 0)); then kill_jobs "no lease renewal within the fence"; deadline=0; continue; fi
            printf -v t '%d.%06d' $((left / 1000000)) $((left % 1000000))
            read -r -t "$t" op arg; rc=$?
          else
            read -r op arg; rc=$?
          fi
          if ((rc == 0)); then
            case $op in
              +) groups[$arg]=1 ;;
              -) unset "groups[$arg]" ;;
              r) deadline=$(( ${EPOCHREALTIME/./} + arg * 1000 )) ;;
              q) exit 0 ;;
            esac
          elif ((rc <= 128)); then
            kill_jobs "the worker is gone"; exit 0
          fi
        done
        """;

    private const string Bash = "/bin/bash";
    private readonly object _lock = new();
    private readonly FileStream? _pipe;
    private readonly int _pid;
    private readonly TimeProvider _time;

    private RunGuard(FileStream? pipe, int pid, TimeProvider time)
    {
        _pipe = pipe;
        _pid = pid;
        _time = time;
    }

    /// <summary>Why the worker runs without a guard (no bash on this host), or null.</summary>
    public string? Missing { get; private init; }

    /// <summary>
    /// Starts the guard of one worker. Without bash the worker runs unguarded (it says so). The
    /// guard writes to <paramref name="logPath"/> when given (a worker beside others in one
    /// process: its own log), else to the process's stderr.
    /// </summary>
    public static unsafe RunGuard Start(string workerId, TimeProvider time, string? logPath = null)
    {
        if (!File.Exists(Bash))
        {
            return new RunGuard(null, 0, time) { Missing = $"{Bash} not found: jobs are not killed when this worker dies or freezes (recovery on this host still kills them)" };
        }
        var fds = stackalloc int[2];
        if (Spawn.Pipe2(fds, Spawn.OCloExec) != 0)
        {
            throw new IOException($"pipe2 failed: {System.Runtime.InteropServices.Marshal.GetLastPInvokeErrorMessage()}.");
        }
        int pid;
        SafeFileHandle? log = null;
        try
        {
            log = logPath is null ? null : Native.OpenAppend(logPath);
            var environment = new Dictionary<string, string>(StringComparer.Ordinal) { ["PATH"] = "/usr/bin:/bin", ["LC_ALL"] = "C", ["TZ"] = "UTC", ["QUEUECTL_GUARD"] = Script };
            pid = Spawn.StartProcess(Bash, [Bash, "--norc", "--noprofile", "-c", "eval \"$QUEUECTL_GUARD\"", "queuectl-guard", workerId], "/",
                environment, stdin: fds[0], stdout: -1, stderr: log is null ? -1 : (int)log.DangerousGetHandle());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _ = Spawn.Close(fds[1]);
            throw;
        }
        finally
        {
            _ = Spawn.Close(fds[0]);
            log?.Dispose();
        }
        return new RunGuard(new FileStream(new SafeFileHandle(fds[1], ownsHandle: true), FileAccess.Write, bufferSize: 0), pid, time);
    }

    public int Pid => _pid;

    public void Started(int processGroup) => Send($"+ {processGroup}\n");

    public void Ended(int processGroup) => Send($"- {processGroup}\n");

    /// <summary>The registration was renewed; the guard kills the jobs once <paramref name="left"/> has passed without another renewal.</summary>
    public void Renewed(TimeSpan left) =>
        Send($"r {Math.Max(0, (long)left.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}\n");

    /// <summary>A write the guard cannot take (it was killed) is not the worker's concern: recovery still kills on this host.</summary>
    private void Send(string line)
    {
        if (_pipe is null)
        {
            return;
        }
        lock (_lock)
        {
            try
            {
                _pipe.Write(Encoding.ASCII.GetBytes(line));
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // RACE: EPIPE, the guard is gone.
            }
        }
    }

    /// <summary>
    /// Graceful stop: the guard exits without killing anything (a job's leftover background
    /// processes outlive a stopped worker, as they outlive a finished job); then it is reaped.
    /// </summary>
    public void Dispose() => Close(graceful: true);

    /// <summary>Closes the pipe; without <paramref name="graceful"/> the guard kills every job process of the worker first.</summary>
    public unsafe void Close(bool graceful)
    {
        if (_pipe is null)
        {
            return;
        }
        if (graceful)
        {
            Send("q\n");
        }
        lock (_lock)
        {
            _pipe.Dispose();
        }
        var closedAt = _time.GetTimestamp();
        int status;
        while (Spawn.WaitPid(_pid, &status, 1) == 0 && _time.GetElapsedTime(closedAt) < Timing.KillWait)
        {
            _time.Sleep(Timing.ExitPoll);
        }
    }
}
