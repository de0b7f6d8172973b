[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// Fast fixtures say [Parallelizable(ParallelScope.All)] and run the CLI in process; their work is
// mostly small file-system calls, so more workers than the 2 cores of CI keep them busy.
// EndToEnd fixtures (real processes, real-time waits) keep NUnit's default: one at a time.
[assembly: LevelOfParallelism(4)]
