using SharpInfer.Kernels;

namespace SharpInfer.Models.Parts;

/// <summary>
/// One part of a block bound to its weights: it reads the normed input (<see cref="PassState.Xn"/>) of the
/// micro-batch and leaves its output in <see cref="PassState.Tmp"/>, post-normed when its spec asks, for the
/// generic loop to add to the residual stream.
/// </summary>
internal abstract unsafe class BlockPart : PassStage
{
    private const int OpPostNorm = -1;

    /// <summary>Post-norm weight, or null.</summary>
    protected float* PostNormWeight { get; init; }

    /// <summary>RMSNorm epsilon of the post-norm.</summary>
    protected float Epsilon { get; init; }

    /// <summary>Runs the part over the current micro-batch.</summary>
    public abstract void Run(PassState s);

    /// <summary>Applies the post-norm to every token's output row, if the part has one.</summary>
    protected void PostNorm(PassState s)
    {
        if (PostNormWeight == null) return;
        s.Parallel(this, OpPostNorm, s.Tokens);
    }

    /// <inheritdoc />
    public sealed override void Execute(PassState s, int op, int index, int thread)
    {
        if (op == OpPostNorm)
        {
            float* row = s.Tmp.Pointer + (long)index * s.Embedding;
            RmsNorm.Apply(row, PostNormWeight, row, s.Embedding, Epsilon);
            return;
        }
        ExecutePart(s, op, index, thread);
    }

    /// <summary>The part's own parallel operations.</summary>
    protected abstract void ExecutePart(PassState s, int op, int index, int thread);
}

/// <summary>What a part kind needs of a pass beyond the common buffers (declared per kind, from its spec alone: see <see cref="ScratchLayout"/>).</summary>
/// <param name="ScratchFloats">Floats of <see cref="PassState.PartScratch"/>.</param>
/// <param name="ThreadScratchFloats">Floats of attention scratch per thread.</param>
/// <param name="Jobs">Matrices in its largest many-matrix product.</param>
/// <param name="Products">Activation shapes (rows, columns) it hands to <see cref="Kernels.MatMul.Prepare"/>.</param>
internal readonly record struct PartNeeds(long ScratchFloats, long ThreadScratchFloats, int Jobs, (int Rows, int Columns)[] Products)
{
    public static PartNeeds None { get; } = new(0, 0, 0, []);
}
