// queuectl relies on POSIX rename semantics and renameat2: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
