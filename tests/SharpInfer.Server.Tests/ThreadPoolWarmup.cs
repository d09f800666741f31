using System.Runtime.CompilerServices;

namespace SharpInfer.Server.Tests;

/// <summary>
/// The test host parks two thread-pool threads for the whole run (VSTest's socket message loop polls synchronously and
/// xunit's assembly runner waits on a handle), and the pool starts with one thread per core: on a 2-core machine an
/// in-process server then gets one worker, and streamed chunks wait up to a second for the pool to inject threads
/// (measured: a 40-token reply at 15 ms per step arrived as 3 bursts). A standalone server has no such neighbours.
/// </summary>
internal static class ThreadPoolWarmup
{
    [ModuleInitializer]
    internal static void Initialize()
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, Environment.ProcessorCount + 4), io);
    }
}
