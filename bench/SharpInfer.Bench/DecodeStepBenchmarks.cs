using BenchmarkDotNet.Attributes;
using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Sampling;

namespace SharpInfer.Bench;

/// <summary>
/// One decode step as generation runs it: a batch of one token per sequence through the forward pass and the KV
/// cache at a fixed depth, then greedy sampling of every sequence. The step's cells are removed afterwards, so every
/// invocation sees the same cache. The allocation column must read 0 B. The model is stories260K from the shared data
/// unless <c>SHARPINFER_BENCH_MODEL</c> names another (for example a <c>sharpinfer synth</c> TinyLlama).
/// </summary>
[MemoryDiagnoser]
public class DecodeStepBenchmarks
{
    private const int Depth = 64;
    private Model _model = null!;
    private InferenceContext _context = null!;
    private Sampler _sampler = null!;
    private Batch _batch = null!;
    private int[] _next = null!;

    /// <summary>Sequences decoded together (one token each).</summary>
    [Params(1, 4)]
    public int Sequences { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _model = Model.Load(BenchData.DecodeModelPath());
        _context = _model.CreateContext(new ContextOptions { ContextSize = Sequences * (Depth + 8), MaxSequences = Sequences });
        _sampler = new Sampler(new SamplingOptions { Temperature = 0 }, _context.VocabSize);
        var prompt = new Batch(Depth * Sequences);
        for (int s = 0; s < Sequences; s++)
        {
            for (int p = 0; p < Depth; p++) prompt.Add(1 + (p * 7 + s) % Math.Max(1, _context.VocabSize - 1), p, s, p == Depth - 1);
        }
        _context.Decode(prompt);
        _batch = new Batch(Sequences);
        _next = new int[Sequences];
        for (int s = 0; s < Sequences; s++) _next[s] = _sampler.Sample(_context.GetLogits(s * Depth + Depth - 1));
    }

    /// <summary>Decode one token per sequence and sample the next.</summary>
    [Benchmark]
    public int Step()
    {
        _batch.Clear();
        for (int s = 0; s < Sequences; s++) _batch.Add(_next[s], Depth, s, true);
        _context.Decode(_batch);
        int checksum = 0;
        for (int s = 0; s < Sequences; s++)
        {
            checksum += _sampler.Sample(_context.GetLogits(s)); // batch index s is sequence s
            _context.Kv.SeqRemove(s, Depth, -1);
        }
        return checksum;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _context.Dispose();
        _model.Dispose();
    }
}
