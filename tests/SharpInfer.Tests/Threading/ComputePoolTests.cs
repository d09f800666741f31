using SharpInfer.Threading;

namespace SharpInfer.Tests.Threading;

public unsafe class ComputePoolTests
{
    private struct CountJob
    {
        public int* Hits;
        public int* Threads;
    }

    private static void Count(void* context, int index, int thread)
    {
        var job = (CountJob*)context;
        Interlocked.Increment(ref job->Hits[index]);
        Interlocked.Or(ref *job->Threads, 1 << thread);
    }

    private static void CountRange(void* context, int start, int end, int thread)
    {
        var job = (CountJob*)context;
        // An empty or inverted range would be a scheduling bug even though it marks nothing.
        if (end <= start) Interlocked.Increment(ref job->Hits[0]);
        for (int i = start; i < end; i++) Interlocked.Increment(ref job->Hits[i]);
        Interlocked.Or(ref *job->Threads, 1 << thread);
    }

    /// <summary>Fixed chunks (<see cref="ComputePool.For"/>) and guided ranges (<see cref="ComputePool.ForRanges"/>).</summary>
    [Theory]
    [InlineData(1, 1, 1, false)]
    [InlineData(2, 1000, 1, false)]
    [InlineData(3, 999, 7, false)]
    [InlineData(4, 5, 64, false)]
    [InlineData(1, 1, 1, true)]
    [InlineData(2, 1408, 4, true)]
    [InlineData(3, 999, 1, true)]
    [InlineData(2, 7, 16, true)]
    [InlineData(4, 5000, 3, true)]
    public void EveryIndexRunsExactlyOnce(int threads, int count, int grain, bool ranges)
    {
        using var pool = new ComputePool(threads);
        var hits = new int[count];
        int used = 0;
        for (int round = 0; round < 50; round++)
        {
            Array.Clear(hits);
            fixed (int* h = hits)
            {
                var job = new CountJob { Hits = h, Threads = &used };
                if (ranges) pool.ForRanges(count, &CountRange, &job, grain);
                else pool.For(count, &Count, &job, grain);
            }
            Assert.All(hits, v => Assert.Equal(1, v));
        }
        Assert.True(used != 0);
    }

    private static void FailRange(void* context, int start, int end, int thread)
    {
        if (start <= 500 && 500 < end) throw new InvalidOperationException("range boom");
    }

    [Fact]
    public void AnExceptionInARangeReachesTheCaller()
    {
        using var pool = new ComputePool(2);
        var e = Assert.Throws<InvalidOperationException>(() => pool.ForRanges(1000, &FailRange, null, 4));
        Assert.Equal("range boom", e.Message);
        var hits = new int[100];
        int used = 0;
        fixed (int* h = hits)
        {
            var job = new CountJob { Hits = h, Threads = &used };
            pool.ForRanges(100, &CountRange, &job, 2);
        }
        Assert.All(hits, v => Assert.Equal(1, v));
    }

    private static void Fail(void* context, int index, int thread)
    {
        if (index == 17) throw new InvalidOperationException("boom");
    }

    [Fact]
    public void AnExceptionInAWorkerReachesTheCaller()
    {
        using var pool = new ComputePool(3);
        var e = Assert.Throws<InvalidOperationException>(() => pool.For(100, &Fail, null));
        Assert.Equal("boom", e.Message);
        var hits = new int[10];
        int used = 0;
        fixed (int* h = hits)
        {
            var job = new CountJob { Hits = h, Threads = &used };
            pool.For(10, &Count, &job);
        }
        Assert.All(hits, v => Assert.Equal(1, v));
    }

    [Fact]
    public void WorkersParkWhenIdleAndWakeForTheNextJob()
    {
        using var pool = new ComputePool(2);
        Thread.Sleep(300);
        var hits = new int[64];
        int used = 0;
        fixed (int* h = hits)
        {
            var job = new CountJob { Hits = h, Threads = &used };
            pool.For(64, &Count, &job);
        }
        Assert.All(hits, v => Assert.Equal(1, v));
    }

    [Fact]
    public void PartitionCoversTheRangeContiguously()
    {
        for (int count = 0; count < 50; count++)
        {
            for (int parts = 1; parts < 7; parts++)
            {
                int next = 0;
                for (int p = 0; p < parts; p++)
                {
                    var (s, e) = ComputePool.Partition(count, parts, p);
                    Assert.Equal(next, s);
                    next = e;
                }
                Assert.Equal(count, next);
            }
        }
    }

    /// <summary>
    /// A job is done when its work is done, not when every thread has checked in: with the workers held off the CPU
    /// (the extreme of a descheduled thread) the caller finishes every job alone, and the workers join in once they
    /// run. A pool that waits at a barrier for all of its threads never returns here.
    /// </summary>
    [Fact]
    public void JobsCompleteWhileWorkersCannotRun()
    {
        using var gate = new ManualResetEvent(false);
        using var pool = new ComputePool(4, gate);
        var hits = new int[1000];
        var run = Task.Run(() => RunRounds(pool, hits, 20));
        Assert.True(run.Wait(TimeSpan.FromSeconds(60)), "jobs waited for workers that could not run");
        int used = run.Result;
        Assert.Equal(1, used);
        gate.Set();
        RunRounds(pool, hits, 50);
    }

    /// <summary>Alternates fixed chunks and guided ranges over <paramref name="hits"/>; returns the mask of threads that took part.</summary>
    private static int RunRounds(ComputePool pool, int[] hits, int rounds)
    {
        int used = 0;
        for (int round = 0; round < rounds; round++)
        {
            Array.Clear(hits);
            fixed (int* h = hits)
            {
                var job = new CountJob { Hits = h, Threads = &used };
                if (round % 2 == 0) pool.For(hits.Length, &Count, &job, 7);
                else pool.ForRanges(hits.Length, &CountRange, &job, 3);
            }
            Assert.All(hits, v => Assert.Equal(1, v));
        }
        return used;
    }

    /// <summary>
    /// Many more threads than cores, many short jobs back to back: every index still runs exactly once (late threads
    /// must not claim work of a newer job with an older job's parameters), and the pool reports itself oversubscribed.
    /// </summary>
    [Fact]
    public void OversubscribedPoolRunsEveryIndexOnce()
    {
        int threads = CpuTopology.UsableCpus * 8;
        using var pool = new ComputePool(threads);
        Assert.True(pool.Oversubscribed);
        for (int round = 0; round < 100; round++)
        {
            RunRounds(pool, new int[37], 2);
            if (round % 3 == 0) RunRounds(pool, new int[5000], 2);
        }
    }

    [Fact]
    public void UsableCpusBoundTheDefaultThreads()
    {
        Assert.InRange(CpuTopology.PhysicalCores, 1, CpuTopology.UsableCpus);
        Assert.InRange(CpuTopology.UsableCpus, 1, Environment.ProcessorCount);
        using var pool = new ComputePool(CpuTopology.PhysicalCores);
        Assert.False(pool.Oversubscribed);
    }

    [Theory]
    [InlineData("max 100000", null)]
    [InlineData("150000 100000", 1.5)]
    [InlineData("200000 100000\n", 2.0)]
    [InlineData("garbage", null)]
    [InlineData("-1 100000", null)]
    public void CgroupV2QuotaIsParsed(string text, double? cpus) =>
        Assert.Equal(cpus, CpuTopology.ParseCpuMax(text));

    [Fact]
    public void CgroupV1QuotaIsParsed()
    {
        Assert.Null(CpuTopology.ParseCfsQuota("-1\n", "100000\n"));
        Assert.Equal(0.5, CpuTopology.ParseCfsQuota("50000\n", "100000\n"));
        Assert.Null(CpuTopology.ParseCfsQuota(null, "100000"));
    }
}
