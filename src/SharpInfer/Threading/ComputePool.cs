using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace SharpInfer.Threading;

/// <summary>
/// A persistent pool of compute threads for the forward pass. The calling thread works too. Jobs are unmanaged
/// function pointers with a context pointer, so dispatching allocates nothing.
/// <para>
/// Work is a range of indices handed out in chunks from a shared counter: contiguous chunks keep streaming reads
/// sequential, and a thread that finishes early takes the next chunk. A job is done when all its indices are done,
/// not when every thread has checked in: a thread the OS has descheduled (more threads than free cores, a busy
/// neighbour process) holds up a job only by the chunk it claimed, never by not having started, and a late thread
/// finds the work gone and goes back to waiting. There is no barrier that all threads must reach.
/// </para>
/// <para>
/// Waiting threads spin briefly (a decode step issues dozens of small jobs back to back, and waking a blocked thread
/// costs microseconds), yielding the core now and then so that a thread that holds work can run on it, and then
/// block, so an idle engine burns no CPU and a pool larger than the cores it may use degrades gracefully. With more
/// threads than usable cores they spin only a few microseconds.
/// </para>
/// </summary>
public sealed unsafe class ComputePool : IDisposable
{
    /// <summary>Low half of the job word while a job's parameters are being written.</summary>
    private const uint Closed = uint.MaxValue;

    private readonly Thread[] _workers;
    private readonly object _workerGate = new(), _callerGate = new();
    private readonly long _spinTicks;
    private readonly long[] _workerAllocated;

    // The job word: generation in the high 32 bits, the next unclaimed index (or Closed) in the low 32. A claim is a
    // compare-and-swap on the whole word, so a thread can only claim work of the job it read the parameters of.
    private long _job;
    private int _done;
    private int _sleepers;
    private int _callerWaiting;
    private volatile bool _disposed;

    private delegate*<void*, int, int, void> _body;
    private delegate*<void*, int, int, int, void> _rangeBody;
    private void* _context;
    private int _count;
    private int _grain;
    private ExceptionDispatchInfo? _failure;

    /// <summary>Creates a pool with <paramref name="threads"/> threads in all (the caller counts as one).</summary>
    public ComputePool(int threads) : this(threads, null)
    {
    }

    /// <summary>
    /// A pool whose workers first wait for <paramref name="workersMayStart"/>: lets tests hold workers off the CPU,
    /// the extreme of a descheduled thread, and check that jobs complete without them.
    /// </summary>
    internal ComputePool(int threads, WaitHandle? workersMayStart)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), "at least one thread is needed");
        ThreadCount = threads;
        Oversubscribed = threads > CpuTopology.UsableCpus;
        // Enough to bridge the gaps between the jobs of one step; far less when some threads cannot have a core.
        _spinTicks = Stopwatch.Frequency / (Oversubscribed ? 200_000 : 10_000);
        _workers = new Thread[threads - 1];
        _workerAllocated = new long[Math.Max(1, threads - 1) * 8];
        for (int i = 0; i < _workers.Length; i++)
        {
            int index = i + 1;
            _workers[i] = new Thread(() =>
            {
                workersMayStart?.WaitOne();
                WorkerLoop(index);
            }) { IsBackground = true, Name = $"sharpinfer-compute-{index}" };
            _workers[i].Start();
        }
    }

    /// <summary>Threads taking part in each job, the caller included.</summary>
    public int ThreadCount { get; }

    /// <summary>Whether the pool has more threads than the CPUs this process may use (<see cref="CpuTopology.UsableCpus"/>).</summary>
    public bool Oversubscribed { get; }

    /// <summary>
    /// Runs <paramref name="body"/>(context, index, threadIndex) for every index in [0, count), handing out
    /// chunks of <paramref name="grain"/> indices. Returns when all are done; the first exception is rethrown.
    /// Not reentrant: one job at a time.
    /// </summary>
    public void For(int count, delegate*<void*, int, int, void> body, void* context, int grain = 1)
    {
        if (count <= 0) return;
        if (grain < 1) grain = 1;
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_workers.Length == 0 || count <= grain)
        {
            for (int i = 0; i < count; i++) body(context, i, 0);
            return;
        }
        Run(count, body, null, context, grain);
    }

    /// <summary>
    /// Runs <paramref name="body"/>(context, start, end, threadIndex) over ranges that cover [0, count) once, handed
    /// out largest first: each grab takes half of what remains divided among the threads (at least
    /// <paramref name="minGrain"/>). A thread streams through a long contiguous range, and the last ranges are short,
    /// so no thread waits long for another at the end (guided self-scheduling). Returns when all are done; the first
    /// exception is rethrown. Not reentrant.
    /// </summary>
    public void ForRanges(int count, delegate*<void*, int, int, int, void> body, void* context, int minGrain = 1)
    {
        if (count <= 0) return;
        if (minGrain < 1) minGrain = 1;
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_workers.Length == 0 || count <= minGrain)
        {
            body(context, 0, count, 0);
            return;
        }
        Run(count, null, body, context, minGrain);
    }

    /// <summary>
    /// Managed bytes allocated so far by the calling thread and the pool's workers (as of their last finished job):
    /// the difference across a decode step is what the step allocated, unaffected by other threads of the process.
    /// </summary>
    public long AllocatedBytes
    {
        get
        {
            long total = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < _workers.Length; i++) total += Volatile.Read(ref _workerAllocated[i * 8]);
            return total;
        }
    }

    /// <summary>Splits [0, count) into one contiguous range per thread (for work that must not interleave).</summary>
    public static (int Start, int End) Partition(int count, int parts, int part)
    {
        int size = count / parts, extra = count % parts;
        int start = part * size + Math.Min(part, extra);
        return (start, start + size + (part < extra ? 1 : 0));
    }

    private static long Word(uint generation, uint next) => (long)(((ulong)generation << 32) | next);

    private static uint Generation(long word) => (uint)((ulong)word >> 32);

    private static uint Next(long word) => (uint)word;

    private void Run(int count, delegate*<void*, int, int, void> body, delegate*<void*, int, int, int, void> rangeBody, void* context, int grain)
    {
        uint generation = Generation(Volatile.Read(ref _job)) + 1;
        // Close first: a thread still reading the previous job's parameters then fails its claim (a seqlock).
        Interlocked.Exchange(ref _job, Word(generation, Closed));
        _body = body;
        _rangeBody = rangeBody;
        _context = context;
        _count = count;
        _grain = grain;
        _failure = null;
        Volatile.Write(ref _done, 0);
        // Open (a full fence: the read of _sleepers below cannot move above it; see WaitForJob).
        Interlocked.Exchange(ref _job, Word(generation, 0));
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_workerGate) Monitor.PulseAll(_workerGate);
        }

        RunChunks(0, generation);
        WaitForCompletion(count);
        _failure?.Throw();
    }

    /// <summary>Claims and runs chunks of job <paramref name="generation"/> until none are left (or the job is no longer current).</summary>
    private void RunChunks(int thread, uint generation)
    {
        while (true)
        {
            long word = Volatile.Read(ref _job);
            if (Generation(word) != generation) return;
            uint next = Next(word);
            // Read after the word: they belong to this generation unless it has been closed, which fails the claim.
            int count = _count, grain = _grain;
            if (next >= (uint)count) return;
            int size = _rangeBody != null ? Math.Max(grain, (count - (int)next) / (2 * ThreadCount)) : grain;
            int end = (int)Math.Min((long)next + size, count);
            if (Interlocked.CompareExchange(ref _job, Word(generation, (uint)end), word) != word) continue;
            var body = _body;
            var rangeBody = _rangeBody;
            void* context = _context;
            try
            {
                if (rangeBody != null) rangeBody(context, (int)next, end, thread);
                else for (int i = (int)next; i < end; i++) body(context, i, thread);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
                Drain(generation, count);
            }
            finally
            {
                Finish(end - (int)next, count);
            }
        }
    }

    /// <summary>After a failure: claims every index still unclaimed and counts it done, so the job ends promptly.</summary>
    private void Drain(uint generation, int count)
    {
        while (true)
        {
            long word = Volatile.Read(ref _job);
            uint next = Next(word);
            if (Generation(word) != generation || next >= (uint)count) return;
            if (Interlocked.CompareExchange(ref _job, Word(generation, (uint)count), word) == word)
            {
                Finish(count - (int)next, count);
                return;
            }
        }
    }

    private void Finish(int indices, int count)
    {
        if (Interlocked.Add(ref _done, indices) != count) return;
        // Full fence above; the caller sets its flag with one too before it checks _done (no lost wake-up).
        if (Volatile.Read(ref _callerWaiting) != 0)
        {
            lock (_callerGate) Monitor.PulseAll(_callerGate);
        }
    }

    private void WaitForCompletion(int count)
    {
        long deadline = Stopwatch.GetTimestamp() + _spinTicks;
        int spins = 0;
        while (Volatile.Read(ref _done) < count)
        {
            if (Spin(ref spins, deadline)) continue;
            lock (_callerGate)
            {
                Interlocked.Exchange(ref _callerWaiting, 1);
                while (Volatile.Read(ref _done) < count) Monitor.Wait(_callerGate);
                Interlocked.Exchange(ref _callerWaiting, 0);
            }
            return;
        }
    }

    /// <summary>Waits for a job newer than <paramref name="seen"/> to open; false when the pool is disposed.</summary>
    private bool WaitForJob(uint seen, out uint generation)
    {
        long deadline = Stopwatch.GetTimestamp() + _spinTicks;
        int spins = 0;
        while (!_disposed)
        {
            if (IsOpen(seen, out generation)) return true;
            if (Spin(ref spins, deadline)) continue;
            lock (_workerGate)
            {
                // Counted before the job word is read again (a full fence), so Run either sees this sleeper and
                // pulses, or this thread sees the job Run opened.
                Interlocked.Increment(ref _sleepers);
                while (!_disposed && !IsOpen(seen, out generation)) Monitor.Wait(_workerGate);
                Interlocked.Decrement(ref _sleepers);
            }
        }
        generation = 0;
        return false;
    }

    private bool IsOpen(uint seen, out uint generation)
    {
        long word = Volatile.Read(ref _job);
        generation = Generation(word);
        return generation != seen && Next(word) != Closed;
    }

    /// <summary>
    /// One step of a bounded spin: false once <paramref name="deadline"/> has passed. Every 64th step yields the core,
    /// so a runnable thread waiting for it (one that holds work) gets to run.
    /// </summary>
    private bool Spin(ref int spins, long deadline)
    {
        if ((++spins & 63) != 0)
        {
            Thread.SpinWait(Oversubscribed ? 1 : 8);
            return true;
        }
        if (Stopwatch.GetTimestamp() > deadline) return false;
        Thread.Yield();
        return true;
    }

    private void WorkerLoop(int index)
    {
        uint seen = 0;
        while (WaitForJob(seen, out uint generation))
        {
            seen = generation;
            RunChunks(index, generation);
            // One thread-local read per job: lets tests and benchmarks prove the compute threads allocate nothing.
            Volatile.Write(ref _workerAllocated[(index - 1) * 8], GC.GetAllocatedBytesForCurrentThread());
        }
    }

    /// <summary>Stops the workers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (_workerGate) Monitor.PulseAll(_workerGate);
        foreach (var t in _workers) t.Join();
    }
}
