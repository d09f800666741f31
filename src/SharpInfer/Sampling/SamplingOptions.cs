namespace SharpInfer.Sampling;

/// <summary>
/// Settings of the sampler chain, applied in this order: logit bias → repetition/frequency/presence penalties →
/// top-k → typical-p → top-p → min-p → temperature → draw. Temperature 0 (or below) means greedy.
/// Defaults are llama.cpp's.
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>Softmax temperature; ≤ 0 picks the most likely token.</summary>
    public float Temperature { get; init; } = 0.8f;

    /// <summary>Keep only the k most likely tokens (≤ 0: all).</summary>
    public int TopK { get; init; } = 40;

    /// <summary>Keep the smallest set of tokens whose probabilities sum to at least p (1: off).</summary>
    public float TopP { get; init; } = 0.95f;

    /// <summary>Drop tokens less likely than min-p × the top probability (0: off).</summary>
    public float MinP { get; init; } = 0.05f;

    /// <summary>Locally typical sampling mass (1: off).</summary>
    public float TypicalP { get; init; } = 1.0f;

    /// <summary>Divide positive logits (multiply negative ones) of recently seen tokens by this (1: off).</summary>
    public float RepeatPenalty { get; init; } = 1.0f;

    /// <summary>Subtract count × this from recently seen tokens' logits (0: off).</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>Subtract this from the logits of any recently seen token (0: off).</summary>
    public float PresencePenalty { get; init; }

    /// <summary>How many recent tokens the penalties look at (0: off, −1: the whole context).</summary>
    public int PenaltyLastN { get; init; } = 64;

    /// <summary>Seed of the random draw; null picks one (see <see cref="Sampler.Seed"/>).</summary>
    public ulong? Seed { get; init; }

    /// <summary>Added to the logits of specific tokens (−∞ bans a token).</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }

    /// <summary>Greedy decoding.</summary>
    public static SamplingOptions Greedy { get; } = new() { Temperature = 0 };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first out-of-range setting.</summary>
    public void Validate()
    {
        if (float.IsNaN(Temperature)) throw new ArgumentException("temperature must be a number");
        if (TopP is < 0 or > 1 || float.IsNaN(TopP)) throw new ArgumentException($"top-p must be within 0..1 (got {TopP})");
        if (MinP is < 0 or > 1 || float.IsNaN(MinP)) throw new ArgumentException($"min-p must be within 0..1 (got {MinP})");
        if (TypicalP is <= 0 or > 1 || float.IsNaN(TypicalP)) throw new ArgumentException($"typical-p must be within (0, 1] (got {TypicalP})");
        if (RepeatPenalty <= 0 || float.IsNaN(RepeatPenalty)) throw new ArgumentException($"repeat penalty must be positive (got {RepeatPenalty})");
        if (PenaltyLastN < -1) throw new ArgumentException($"penalty window must be −1, 0 or positive (got {PenaltyLastN})");
    }
}
