namespace SharpInfer.Models;

/// <summary>How router logits become expert scores (<c>expert_gating_func</c>).</summary>
public enum ExpertGating
{
    /// <summary>Softmax over all experts (DeepSeek-V2; llama.cpp's value 1, and its default when the key is absent).</summary>
    Softmax,
    /// <summary>An independent sigmoid per expert (DeepSeek-V3; value 2).</summary>
    Sigmoid,
}

/// <summary>
/// A mixture-of-experts feed-forward block: a router (<c>ffn_gate_inp</c>) scores every expert, the top
/// <see cref="ExpertsUsed"/> (optionally chosen within the best <see cref="GroupsUsed"/> of <see cref="Groups"/>
/// groups, and with a selection bias <c>exp_probs_b</c> that picks experts but does not weigh them) run as SwiGLU
/// blocks stored as 3-D tensors (<c>ffn_{gate,up,down}_exps</c>, one matrix per expert), their outputs weighted by
/// the unbiased scores (normalised to sum 1 and scaled where the file says so), plus always-on shared experts
/// (<c>*_shexp</c>, one SwiGLU block of <see cref="SharedExperts"/> × <see cref="ExpertLength"/>).
/// </summary>
public sealed record MixtureOfExpertsSpec : FeedForwardSpec
{
    /// <summary>Routed experts.</summary>
    public required int Experts { get; init; }
    /// <summary>Experts each token runs through.</summary>
    public required int ExpertsUsed { get; init; }
    /// <summary>Hidden width of one expert.</summary>
    public required int ExpertLength { get; init; }
    /// <summary>Shared experts (their blocks are stored as one, <see cref="SharedLength"/> wide).</summary>
    public int SharedExperts { get; init; }
    /// <summary>Score function of the router.</summary>
    public ExpertGating Gating { get; init; }
    /// <summary>Normalise the chosen experts' weights to sum 1 (<c>expert_weights_norm</c>).</summary>
    public bool NormalizeWeights { get; init; }
    /// <summary>Multiplier of the weights (<c>expert_weights_scale</c>; 1 when the file gives none).</summary>
    public float WeightScale { get; init; } = 1f;
    /// <summary>Expert groups for group-limited routing (0 or 1: no groups).</summary>
    public int Groups { get; init; }
    /// <summary>Groups a token's experts may come from.</summary>
    public int GroupsUsed { get; init; }

    /// <summary>Hidden width of the shared experts' block.</summary>
    public int SharedLength => SharedExperts * ExpertLength;

    /// <summary>Whether routing is group-limited.</summary>
    public bool Grouped => Groups > 1;

    /// <inheritdoc />
    public override int HiddenWidth => Math.Max(ExpertLength, SharedLength);

    /// <inheritdoc />
    public override IEnumerable<TensorSpec> Tensors(int layer, int embedding)
    {
        string p = $"blk.{layer}.";
        yield return new(p + "ffn_gate_inp.weight", [embedding, Experts], TensorRole.Router);
        yield return new(p + "exp_probs_b.bias", [Experts], TensorRole.Bias, Optional: true);
        yield return new(p + "ffn_gate_exps.weight", [embedding, ExpertLength, Experts], TensorRole.Matrix);
        yield return new(p + "ffn_up_exps.weight", [embedding, ExpertLength, Experts], TensorRole.Matrix);
        yield return new(p + "ffn_down_exps.weight", [ExpertLength, embedding, Experts], TensorRole.Matrix);
        if (SharedExperts == 0) yield break;
        yield return new(p + "ffn_gate_shexp.weight", [embedding, SharedLength], TensorRole.Matrix);
        yield return new(p + "ffn_up_shexp.weight", [embedding, SharedLength], TensorRole.Matrix);
        yield return new(p + "ffn_down_shexp.weight", [SharedLength, embedding], TensorRole.Matrix);
    }
}
