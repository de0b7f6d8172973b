using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace QueueCtl.Processing;

/// <summary>
/// Starts `/bin/sh -c` with posix_spawn(3): in its own session (POSIX_SPAWN_SETSID, so the job
/// leads its process group), default signal dispositions and an empty signal mask, stdin from
/// /dev/null, stdout and stderr into pipes, in its working directory. posix_spawn uses vfork
/// semantics, so starting a job costs what the kernel charges and no more: .NET's Process.Start
/// forks the whole runtime and, with `setsid`, needs a second exec (measured in bench/run).
/// The worker never uses System.Diagnostics.Process, so the runtime does not reap these children:
/// <see cref="Drain"/> does.
/// </summary>
internal sealed partial class Spawn : IDisposable
{
    private const short PosixSpawnSetSigDef = 0x04;
    private const short PosixSpawnSetSigMask = 0x08;
    private const short PosixSpawnSetSid = 0x80;
    private const int ORdOnly = 0;
    internal const int OCloExec = 0x80000;
    private const int EINTR = 4;
    private const int AttrSize = 1024; // posix_spawnattr_t is 336 bytes on glibc x86-64: room to spare
    private const int FileActionsSize = 256; // posix_spawn_file_actions_t is 80 bytes
    private const int SigSetSize = 128;

    private const short PollIn = 0x001;
    private const short PollErr = 0x008;
    private const short PollHup = 0x010;
    private const short PollNval = 0x020;
    private const int WNoHang = 1;
    private const long SysPidfdOpen = 434; // the same number on every Linux architecture

    private readonly SafeFileHandle _stdout;
    private readonly SafeFileHandle _stderr;

    private Spawn(int pid, SafeFileHandle stdout, SafeFileHandle stderr)
    {
        Pid = pid;
        _stdout = stdout;
        _stderr = stderr;
    }

    public int Pid { get; }

    /// <summary>Starts the command; throws IOException when the system refuses.</summary>
    public static unsafe Spawn Start(string command, string workingDirectory, IReadOnlyDictionary<string, string> environment)
    {
        var outPipe = stackalloc int[2];
        var errPipe = stackalloc int[2];
        Check(Pipe2(outPipe, OCloExec), "pipe2");
        if (Pipe2(errPipe, OCloExec) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            _ = Close(outPipe[0]);
            _ = Close(outPipe[1]);
            throw Error(errno, "pipe2");
        }
        int pid;
        try
        {
            pid = StartProcess("/bin/sh", ["/bin/sh", "-c", command], workingDirectory, environment, stdin: -1, stdout: outPipe[1], stderr: errPipe[1]);
        }
        catch (IOException)
        {
            _ = Close(outPipe[0]);
            _ = Close(errPipe[0]);
            throw;
        }
        finally
        {
            _ = Close(outPipe[1]);
            _ = Close(errPipe[1]);
        }
        return new Spawn(pid, new SafeFileHandle(outPipe[0], ownsHandle: true), new SafeFileHandle(errPipe[0], ownsHandle: true));
    }

    /// <summary>
    /// posix_spawn in a new session with default signal dispositions and an empty mask. stdin is
    /// <paramref name="stdin"/> (or /dev/null when -1); stdout and stderr are the given descriptors,
    /// or the caller's own when -1. Returns the pid; throws IOException when the system refuses.
    /// </summary>
    public static unsafe int StartProcess(string path, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string> environment, int stdin, int stdout, int stderr)
    {
        var attr = Marshal.AllocHGlobal(AttrSize);
        var actions = Marshal.AllocHGlobal(FileActionsSize);
        var signals = Marshal.AllocHGlobal(SigSetSize);
        var strings = new List<IntPtr>();
        try
        {
            Check(SpawnAttrInit(attr), "posix_spawnattr_init");
            Check(SpawnFileActionsInit(actions), "posix_spawn_file_actions_init");
            Check(SigFillSet(signals), "sigfillset");
            Check(SpawnAttrSetSigDefault(attr, signals), "posix_spawnattr_setsigdefault");
            Check(SigEmptySet(signals), "sigemptyset");
            Check(SpawnAttrSetSigMask(attr, signals), "posix_spawnattr_setsigmask");
            Check(SpawnAttrSetFlags(attr, PosixSpawnSetSid | PosixSpawnSetSigDef | PosixSpawnSetSigMask), "posix_spawnattr_setflags");
            Check(stdin < 0
                ? SpawnFileActionsAddOpen(actions, 0, "/dev/null", ORdOnly, 0)
                : SpawnFileActionsAddDup2(actions, stdin, 0), "posix_spawn_file_actions_add stdin");
            if (stdout >= 0)
            {
                Check(SpawnFileActionsAddDup2(actions, stdout, 1), "posix_spawn_file_actions_adddup2");
            }
            if (stderr >= 0)
            {
                Check(SpawnFileActionsAddDup2(actions, stderr, 2), "posix_spawn_file_actions_adddup2");
            }
            Check(SpawnFileActionsAddChdir(actions, workingDirectory), "posix_spawn_file_actions_addchdir_np");

            var argv = Utf8Array(arguments, strings);
            var envp = Utf8Array(environment.Select(kv => $"{kv.Key}={kv.Value}"), strings);
            int pid;
            int result;
            fixed (IntPtr* argvPtr = argv, envpPtr = envp)
            {
                result = PosixSpawn(&pid, path, actions, attr, argvPtr, envpPtr);
            }
            if (result != 0)
            {
                throw Error(result, $"posix_spawn {path}");
            }
            return pid;
        }
        finally
        {
            _ = SpawnFileActionsDestroy(actions);
            _ = SpawnAttrDestroy(attr);
            Marshal.FreeHGlobal(attr);
            Marshal.FreeHGlobal(actions);
            Marshal.FreeHGlobal(signals);
            strings.ForEach(Marshal.FreeCoTaskMem);
        }
    }

    /// <summary>
    /// Reads stdout and stderr into <paramref name="output"/> (the flag says stderr) and reaps the
    /// shell, all on the calling thread with one poll(2) over the two pipes and a pidfd that becomes
    /// readable when the shell exits. Returns the exit code (128 + N when killed by signal N) once
    /// both pipes are closed, or <paramref name="pipeGrace"/> after the exit when a background child
    /// keeps a pipe open. Another thread may kill the process group meanwhile.
    /// </summary>
    public unsafe int Drain(Action<ReadOnlySpan<byte>, bool> output, TimeSpan pipeGrace, TimeProvider time)
    {
        var pidfd = (int)Syscall(SysPidfdOpen, Pid, 0); // -1 on kernels before 5.3: poll waitpid instead
        var handles = new[] { _stdout, _stderr };
        var open = new[] { true, true };
        var refs = new bool[2];
        var buffer = new byte[16384];
        var fds = stackalloc PollFd[3];
        var index = stackalloc int[3];
        int? exitCode = null;
        long exitedAt = 0;
        try
        {
            for (var i = 0; i < 2; i++)
            {
                handles[i].DangerousAddRef(ref refs[i]);
            }
            while (true)
            {
                if (exitCode is null && TryReap(out var code))
                {
                    exitCode = code;
                    exitedAt = time.GetTimestamp();
                }
                if (exitCode is { } done && (!open[0] && !open[1] || time.GetElapsedTime(exitedAt) >= pipeGrace))
                {
                    return done;
                }
                var count = 0;
                for (var i = 0; i < 2; i++)
                {
                    if (open[i])
                    {
                        fds[count] = new PollFd { Fd = (int)handles[i].DangerousGetHandle(), Events = PollIn };
                        index[count++] = i;
                    }
                }
                if (exitCode is null && pidfd >= 0)
                {
                    fds[count] = new PollFd { Fd = pidfd, Events = PollIn };
                    index[count++] = 2;
                }
                var timeout = exitCode is not null ? (int)Math.Max(0, (pipeGrace - time.GetElapsedTime(exitedAt)).TotalMilliseconds)
                    : pidfd >= 0 ? -1 : (int)Timing.NoPidfdPoll.TotalMilliseconds;
                if (Poll(fds, (ulong)count, timeout) < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno != EINTR)
                    {
                        throw Error(errno, "poll");
                    }
                    continue;
                }
                for (var k = 0; k < count; k++)
                {
                    var i = index[k];
                    if (i == 2 || (fds[k].Revents & (PollIn | PollHup | PollErr | PollNval)) == 0)
                    {
                        continue; // the pidfd: reaped at the top of the loop
                    }
                    fixed (byte* b = buffer)
                    {
                        var read = Read(fds[k].Fd, b, (nuint)buffer.Length);
                        if (read > 0)
                        {
                            output(buffer.AsSpan(0, (int)read), i == 1);
                        }
                        else if (read == 0 || Marshal.GetLastPInvokeError() != EINTR)
                        {
                            open[i] = false;
                        }
                    }
                }
            }
        }
        finally
        {
            for (var i = 0; i < 2; i++)
            {
                if (refs[i])
                {
                    handles[i].DangerousRelease();
                }
            }
            if (pidfd >= 0)
            {
                _ = Close(pidfd);
            }
        }
    }

    /// <summary>waitpid without blocking: true once the shell has exited (and is reaped).</summary>
    private unsafe bool TryReap(out int exitCode)
    {
        int status;
        int result;
        while ((result = WaitPid(Pid, &status, WNoHang)) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
            {
                throw Error(errno, $"waitpid {Pid}");
            }
        }
        exitCode = 0;
        if (result == 0)
        {
            return false;
        }
        var signal = status & 0x7f;
        exitCode = signal == 0 ? (status >> 8) & 0xff : 128 + signal;
        return true;
    }

    public void Dispose()
    {
        _stdout.Dispose();
        _stderr.Dispose();
    }

    private static IntPtr[] Utf8Array(IEnumerable<string> values, List<IntPtr> owned)
    {
        var pointers = values.Select(v =>
        {
            var p = Marshal.StringToCoTaskMemUTF8(v);
            owned.Add(p);
            return p;
        }).ToList();
        pointers.Add(IntPtr.Zero);
        return [.. pointers];
    }

    private static void Check(int result, string what)
    {
        if (result != 0)
        {
            throw Error(result < 0 ? Marshal.GetLastPInvokeError() : result, what);
        }
    }

    private static IOException Error(int errno, string what) => new($"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)}.");

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    internal static unsafe partial int Pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(PollFd* fds, ulong count, int timeout);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int pid, uint flags);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    internal static unsafe partial int WaitPid(int pid, int* status, int options);

    [LibraryImport("libc", EntryPoint = "posix_spawn", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int PosixSpawn(int* pid, string path, IntPtr fileActions, IntPtr attr, IntPtr* argv, IntPtr* envp);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_init")]
    private static partial int SpawnAttrInit(IntPtr attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_destroy")]
    private static partial int SpawnAttrDestroy(IntPtr attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setflags")]
    private static partial int SpawnAttrSetFlags(IntPtr attr, short flags);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigdefault")]
    private static partial int SpawnAttrSetSigDefault(IntPtr attr, IntPtr signals);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigmask")]
    private static partial int SpawnAttrSetSigMask(IntPtr attr, IntPtr signals);

    [LibraryImport("libc", EntryPoint = "sigfillset", SetLastError = true)]
    private static partial int SigFillSet(IntPtr set);

    [LibraryImport("libc", EntryPoint = "sigemptyset", SetLastError = true)]
    private static partial int SigEmptySet(IntPtr set);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    private static partial int SpawnFileActionsInit(IntPtr actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    private static partial int SpawnFileActionsDestroy(IntPtr actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addopen", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SpawnFileActionsAddOpen(IntPtr actions, int fd, string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    private static partial int SpawnFileActionsAddDup2(IntPtr actions, int fd, int newFd);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addchdir_np", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SpawnFileActionsAddChdir(IntPtr actions, string path);
}
