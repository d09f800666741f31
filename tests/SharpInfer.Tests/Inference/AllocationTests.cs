using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Sampling;

namespace SharpInfer.Tests.Inference;

/// <summary>
/// Steady-state decode allocates nothing: batch, forward pass, KV cache, logits and the sampler chain reuse their
/// buffers. Runs after a warm-up long enough for tiered compilation to settle.
/// </summary>
public class AllocationTests
{
    /// <summary>
    /// stories260K (F32 weights: the float kernels), and random-weight models whose matrices take the integer kernels:
    /// Q4_0 (32-element blocks) and Q4_K (super-blocks; with 8 sequences a step runs the 16×8 tile on AVX-512BW, else
    /// the 4×8 tile, with the quad metadata); DeepSeek-V2/V3 models (latent attention absorbed and decompressed, in
    /// both layouts; expert routing, grouping by expert, the many-matrix products and the expert counters).
    /// </summary>
    [Theory]
    [InlineData("models/stories260K.gguf", 1, 0f)]
    [InlineData("models/stories260K.gguf", 1, 0.8f)]
    [InlineData("models/stories260K.gguf", 4, 0.8f)]
    [InlineData("models/synthetic/synth-llama-Q4_0.gguf", 4, 0.8f)]
    [InlineData("models/synthetic/synth-llama-Q4_K_S.gguf", 8, 0.8f)]
    [InlineData("models/synthetic-arch/synth-gemma2-Q8_0.gguf", 2, 0.8f)]
    [InlineData("models/synthetic-arch/synth-gemma3-F32.gguf", 1, 0f)]
    [InlineData("models/synthetic-arch/synth-phi3-Q8_0.gguf", 2, 0f)]
    [InlineData("models/synthetic-arch/synth-qwen3-Q8_0.gguf", 1, 0f)]
    [InlineData("models/synthetic-arch/synth-deepseek2-Q8_0.gguf", 4, 0.8f)]
    [InlineData("models/synthetic-arch/synth-deepseek2-mla-Q8_0.gguf", 1, 0.8f, MlaMode.Naive)]
    [InlineData("models/synthetic-arch/synth-deepseek2-lite-F32.gguf", 1, 0f)]
    public void DecodeAndSampleAllocateNothingPerToken(string file, int sequences, float temperature, MlaMode mla = MlaMode.Absorb)
    {
        using var model = Model.Load(SharedData.File(file));
        using var context = model.CreateContext(new ContextOptions { ContextSize = Math.Max(512, 128 * sequences), MaxSequences = sequences, Threads = 2, Mla = mla });
        var sampler = new Sampler(new SamplingOptions { Temperature = temperature, Seed = 1, RepeatPenalty = 1.1f }, context.VocabSize);
        var batch = new Batch(sequences);
        var next = new int[sequences];
        int pos = 0;
        void Step()
        {
            if (pos == 100)
            {
                context.Kv.Clear();
                pos = 0;
            }
            batch.Clear();
            for (int s = 0; s < sequences; s++) batch.Add(next[s], pos, s, true);
            context.Decode(batch);
            for (int s = 0; s < sequences; s++)
            {
                next[s] = sampler.Sample(context.GetLogits(s));
                sampler.Accept(next[s]);
            }
            pos++;
        }
        for (int i = 0; i < 3000; i++) Step();
        // Counted on this thread and the compute threads only (other threads of the test host do allocate), over
        // several windows of which the quietest counts: a per-step allocation shows in every window.
        const int steps = 500;
        long quietest = long.MaxValue;
        for (int window = 0; window < 5; window++)
        {
            long before = context.Pool.AllocatedBytes;
            for (int i = 0; i < steps; i++) Step();
            quietest = Math.Min(quietest, context.Pool.AllocatedBytes - before);
        }
        Assert.True(quietest == 0, $"{quietest} bytes allocated over {steps} decode steps ({(double)quietest / steps:F1} per step)");
    }
}
