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

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 1000, 1)]
    [InlineData(3, 999, 7)]
    [InlineData(4, 5, 64)]
    public void EveryIndexRunsExactlyOnce(int threads, int count, int grain)
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
                pool.For(count, &Count, &job, grain);
            }
            Assert.All(hits, v => Assert.Equal(1, v));
        }
        Assert.True(used != 0);
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
