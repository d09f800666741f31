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
}
