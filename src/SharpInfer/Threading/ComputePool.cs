using System.Runtime.ExceptionServices;

namespace SharpInfer.Threading;

/// <summary>
/// A persistent pool of compute threads for the forward pass. The calling thread works too. Between operations
/// workers spin briefly (a decode step issues dozens of small operations back to back, and waking a parked
/// thread costs microseconds), then park on a semaphore so an idle engine burns no CPU.
/// <para>
/// Work is a range of indices handed out in chunks from a shared counter: contiguous chunks keep streaming reads
/// sequential, and a thread that finishes early takes the next chunk (work stealing for uneven rows).
/// Jobs are unmanaged function pointers with a context pointer, so dispatching allocates nothing.
/// </para>
/// </summary>
public sealed unsafe class ComputePool : IDisposable
{
    private const int SpinIterations = 4000;

    private readonly Thread[] _workers;
    private readonly SemaphoreSlim _wake = new(0);
    private long _generation;
    private int _sleepers;
    private int _pending;
    private volatile bool _disposed;

    private delegate*<void*, int, int, void> _body;
    private delegate*<void*, int, int, int, void> _rangeBody;
    private void* _context;
    private int _count;
    private int _grain;
    private int _next;
    private ExceptionDispatchInfo? _failure;
    private readonly long[] _workerAllocated;

    /// <summary>Creates a pool with <paramref name="threads"/> threads in all (the caller counts as one).</summary>
    public ComputePool(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), "at least one thread is needed");
        ThreadCount = threads;
        _workers = new Thread[threads - 1];
        _workerAllocated = new long[Math.Max(1, threads - 1) * 8];
        for (int i = 0; i < _workers.Length; i++)
        {
            int index = i + 1;
            _workers[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"sharpinfer-compute-{index}" };
            _workers[i].Start();
        }
    }

    /// <summary>Threads taking part in each job, the caller included.</summary>
    public int ThreadCount { get; }

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

    private void Run(int count, delegate*<void*, int, int, void> body, delegate*<void*, int, int, int, void> rangeBody, void* context, int grain)
    {
        _body = body;
        _rangeBody = rangeBody;
        _context = context;
        _count = count;
        _grain = grain;
        _next = 0;
        _failure = null;
        Volatile.Write(ref _pending, _workers.Length);
        Interlocked.Increment(ref _generation);
        int sleepers = Volatile.Read(ref _sleepers);
        if (sleepers > 0) _wake.Release(sleepers);

        RunChunks(0);

        var spin = new SpinWait();
        while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
        _failure?.Throw();
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

    private void RunChunks(int thread)
    {
        try
        {
            if (_rangeBody != null)
            {
                int share = 2 * ThreadCount;
                while (true)
                {
                    // The size comes from a possibly stale read; the claim itself is atomic, so ranges never overlap.
                    int size = Math.Max(_grain, (_count - Volatile.Read(ref _next)) / share);
                    int start = Interlocked.Add(ref _next, size) - size;
                    if (start >= _count) break;
                    _rangeBody(_context, start, Math.Min(start + size, _count), thread);
                }
                return;
            }
            while (true)
            {
                int start = Interlocked.Add(ref _next, _grain) - _grain;
                if (start >= _count) break;
                int end = Math.Min(start + _grain, _count);
                for (int i = start; i < end; i++) _body(_context, i, thread);
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            // Drain the remaining work so every thread finishes promptly.
            Volatile.Write(ref _next, int.MaxValue / 2);
        }
    }

    private void WorkerLoop(int index)
    {
        long seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen)
            {
                if (_disposed) return;
                if (spins++ < SpinIterations)
                {
                    Thread.SpinWait(30);
                    continue;
                }
                Interlocked.Increment(ref _sleepers);
                if (Volatile.Read(ref _generation) == seen && !_disposed) _wake.Wait(100);
                Interlocked.Decrement(ref _sleepers);
                spins = 0;
            }
            if (_disposed) return;
            seen = Volatile.Read(ref _generation);
            RunChunks(index);
            // One thread-local read per job: lets tests and benchmarks prove the compute threads allocate nothing.
            Volatile.Write(ref _workerAllocated[(index - 1) * 8], GC.GetAllocatedBytesForCurrentThread());
            Interlocked.Decrement(ref _pending);
        }
    }

    /// <summary>Stops the workers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _wake.Release(_workers.Length + 1);
        foreach (var t in _workers) t.Join();
        _wake.Dispose();
    }
}
