[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// Fast fixtures say [Parallelizable(ParallelScope.All)] and run the CLI in process; their work is
// mostly small file-system calls, so more workers than the 2 cores of CI keep them busy.
// Other fixtures run beside each other, their tests one at a time: an EndToEnd test mostly waits
// on its jobs' sleeps, each in a home of its own, and finds its processes by a command line no
// other test uses. A fixture that is CPU-bound or sensitive to load (short leases, a start within
// 500 ms) says [NonParallelizable] and runs alone, after the others.
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(4)]
