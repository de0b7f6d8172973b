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
/// <see cref="Wait"/> does.
/// </summary>
internal sealed partial class Spawn : IDisposable
{
    private const short PosixSpawnSetSigDef = 0x04;
    private const short PosixSpawnSetSigMask = 0x08;
    private const short PosixSpawnSetSid = 0x80;
    private const int ORdOnly = 0;
    private const int OCloExec = 0x80000;
    private const int EINTR = 4;
    private const int AttrSize = 1024; // posix_spawnattr_t is 336 bytes on glibc x86-64: room to spare
    private const int FileActionsSize = 256; // posix_spawn_file_actions_t is 80 bytes
    private const int SigSetSize = 128;

    private Spawn(int pid, SafeFileHandle stdout, SafeFileHandle stderr)
    {
        Pid = pid;
        Stdout = new FileStream(stdout, FileAccess.Read, 0);
        Stderr = new FileStream(stderr, FileAccess.Read, 0);
    }

    public int Pid { get; }
    public Stream Stdout { get; }
    public Stream Stderr { get; }

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
            Check(SpawnFileActionsAddOpen(actions, 0, "/dev/null", ORdOnly, 0), "posix_spawn_file_actions_addopen");
            Check(SpawnFileActionsAddDup2(actions, outPipe[1], 1), "posix_spawn_file_actions_adddup2");
            Check(SpawnFileActionsAddDup2(actions, errPipe[1], 2), "posix_spawn_file_actions_adddup2");
            Check(SpawnFileActionsAddChdir(actions, workingDirectory), "posix_spawn_file_actions_addchdir_np");

            var argv = Utf8Array(["/bin/sh", "-c", command], strings);
            var envp = Utf8Array(environment.Select(kv => $"{kv.Key}={kv.Value}"), strings);
            int pid;
            int result;
            fixed (IntPtr* argvPtr = argv, envpPtr = envp)
            {
                result = PosixSpawn(&pid, "/bin/sh", actions, attr, argvPtr, envpPtr);
            }
            _ = Close(outPipe[1]);
            _ = Close(errPipe[1]);
            if (result != 0)
            {
                _ = Close(outPipe[0]);
                _ = Close(errPipe[0]);
                throw Error(result, "posix_spawn /bin/sh");
            }
            return new Spawn(pid, new SafeFileHandle(outPipe[0], ownsHandle: true), new SafeFileHandle(errPipe[0], ownsHandle: true));
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

    /// <summary>Blocks until the shell exits; returns its exit code (128 + N when killed by signal N).</summary>
    public unsafe int Wait()
    {
        int status;
        while (WaitPid(Pid, &status, 0) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
            {
                throw Error(errno, $"waitpid {Pid}");
            }
        }
        var signal = status & 0x7f;
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal;
    }

    public void Dispose()
    {
        Stdout.Dispose();
        Stderr.Dispose();
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
    private static unsafe partial int Pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static unsafe partial int WaitPid(int pid, int* status, int options);

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
