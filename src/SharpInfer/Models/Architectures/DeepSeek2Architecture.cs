using SharpInfer.Gguf;
using SharpInfer.Kernels;

namespace SharpInfer.Models.Architectures;

/// <summary>
/// DeepSeek-V2, V2-Lite, V2.5 and V3 (<c>deepseek2</c>): Multi-head Latent Attention in either GGUF layout (one
/// <c>attn_kv_b</c>, or <c>attn_k_b</c> + <c>attn_v_b</c> with the <c>*_mla</c> head sizes), with or without query
/// compression; the first <c>leading_dense_block_count</c> blocks run a dense SwiGLU, the rest a mixture of experts
/// (softmax or sigmoid gating, selection bias, group-limited routing, normalised and scaled weights, shared experts).
/// </summary>
public sealed class DeepSeek2Architecture : ModelArchitecture
{
    /// <inheritdoc />
    public override string Name => "deepseek2";

    /// <inheritdoc />
    public override string Examples => "DeepSeek-V2, V2-Lite, V2.5, V3, R1";

    /// <inheritdoc />
    public override ModelSpec Describe(HyperParameterReader hp)
    {
        var c = CommonHyperParameters.Read(hp);
        var attention = ReadAttention(hp, c);
        var dense = new GatedFeedForwardSpec { Length = c.FeedForwardLength };
        int leadingDense = hp.IntOrZero("leading_dense_block_count", 0);
        var experts = leadingDense < c.LayerCount ? ReadExperts(hp) : null;
        return c.Model(Name, Enumerable.Range(0, c.LayerCount).Select(l => new LayerSpec(attention, l < leadingDense ? dense : experts!)));
    }

    private static LatentAttentionSpec ReadAttention(HyperParameterReader hp, CommonHyperParameters c)
    {
        int kvLora = hp.Int("attention.kv_lora_rank");
        int qLora = hp.IntOrZero("attention.q_lora_rank", 0);
        int ropeDim = hp.Int("rope.dimension_count");
        // The split layout names the per-head sizes *_mla; key_length / value_length then describe the cached latent row.
        bool split = hp.Has("attention.key_length_mla");
        int headK = split ? hp.Int("attention.key_length_mla") : c.HeadDimK;
        int headV = split ? hp.Int("attention.value_length_mla") : c.HeadDimV;
        if (split && (c.HeadDimK != kvLora + ropeDim || c.HeadDimV != kvLora || c.KvHeadCount != 1))
        {
            throw new ModelLoadException($"split MLA layout: key_length {c.HeadDimK}, value_length {c.HeadDimV} and head_count_kv {c.KvHeadCount} " +
                $"should be kv_lora_rank + rope ({kvLora + ropeDim}), kv_lora_rank ({kvLora}) and 1");
        }
        if (headK <= ropeDim) throw new ModelLoadException($"key head size {headK} leaves no room beside the {ropeDim} rotated dimensions");
        var (rope, scale) = YarnAttention(hp, c.Rope, headK);
        return new LatentAttentionSpec
        {
            Heads = c.HeadCount,
            QueryLoraRank = qLora,
            KvLoraRank = kvLora,
            NopeDim = headK - ropeDim,
            ValueDim = headV,
            Rope = rope,
            Scale = scale,
            Layout = split ? LatentLayout.Split : LatentLayout.Combined,
            NormEpsilon = c.RmsEpsilon,
        };
    }

    /// <summary>
    /// DeepSeek's YaRN: the rotated parts keep unit magnitude (the rotation's own YaRN factor 1 + 0.1·ln s is cancelled),
    /// and the attention scale carries mscale² instead, mscale = 1 + 0.1 · mscale_all_dim · ln s, where the file's
    /// <c>yarn_log_multiplier</c> is 0.1 · mscale_all_dim (llama.cpp's converters write it so and its loader divides
    /// the 0.1 back out). Without a log multiplier the rotation keeps YaRN's own factor and the scale gets it squared,
    /// as llama.cpp does. Without YaRN the scale is 1/√(qk_nope + qk_rope).
    /// </summary>
    private static (RopeParameters Rope, float Scale) YarnAttention(HyperParameterReader hp, RopeParameters rope, int headK)
    {
        float logOfFactor = MathF.Log(1f / rope.FreqScale);
        float mscaleAllDim = hp.Float("rope.scaling.yarn_log_multiplier", 0f, min: 0f, max: 100f) / 0.1f;
        float attnFactor = 1f;
        if (rope.ExtFactor != 0)
        {
            float yarn = 1f + 0.1f * logOfFactor;
            attnFactor = (mscaleAllDim != 0 ? 1f : yarn) / yarn;
        }
        float original = attnFactor * (1f + 0.1f * logOfFactor);
        float mscale = original * (1f + 0.1f * mscaleAllDim * logOfFactor);
        return (rope with { AttnFactor = attnFactor, NeoX = false }, mscale * mscale / MathF.Sqrt(headK));
    }

    private static MixtureOfExpertsSpec ReadExperts(HyperParameterReader hp)
    {
        int experts = hp.Int("expert_count");
        int used = hp.Int("expert_used_count");
        int groups = hp.IntOrZero("expert_group_count", 0);
        int groupsUsed = hp.IntOrZero("expert_group_used_count", 0);
        if (used > experts) throw new ModelLoadException($"expert_used_count {used} exceeds expert_count {experts}");
        if (groups > 1)
        {
            if (experts % groups != 0) throw new ModelLoadException($"{experts} experts cannot be split into {groups} groups");
            if (groupsUsed < 1 || groupsUsed > groups) throw new ModelLoadException($"expert_group_used_count {groupsUsed} must be 1..{groups}");
            if (groupsUsed * (experts / groups) < used)
            {
                throw new ModelLoadException($"{groupsUsed} groups of {experts / groups} experts cannot supply {used} experts per token");
            }
        }
        var gating = hp.IntOrZero("expert_gating_func", 0) switch
        {
            0 or 1 => ExpertGating.Softmax,
            2 => ExpertGating.Sigmoid,
            var g => throw new ModelLoadException($"expert_gating_func {g} is not supported (1: softmax, 2: sigmoid)"),
        };
        float scale = hp.Float("expert_weights_scale", 0f, min: 0f, max: 1e6f);
        return new MixtureOfExpertsSpec
        {
            Experts = experts,
            ExpertsUsed = used,
            ExpertLength = hp.Int("expert_feed_forward_length"),
            SharedExperts = hp.IntOrZero("expert_shared_count", 0),
            Gating = gating,
            NormalizeWeights = hp.Bool("expert_weights_norm", false),
            WeightScale = scale == 0 ? 1f : scale,
            Groups = groups,
            GroupsUsed = groupsUsed,
        };
    }

    /// <inheritdoc />
    public override IEnumerable<KeyValuePair<string, GgufValue>> ShapeMetadata(ModelShape shape)
    {
        var a = shape.Latent ?? throw new ArgumentException($"shape {shape.Name} has no latent attention sizes");
        var e = shape.Experts ?? throw new ArgumentException($"shape {shape.Name} has no expert sizes");
        static KeyValuePair<string, GgufValue> U(string key, int value) => new(key, GgufValue.FromUInt32((uint)value));
        static KeyValuePair<string, GgufValue> F(string key, float value) => new(key, GgufValue.FromFloat32(value));
        int headK = a.NopeDim + a.RopeDim;
        bool split = a.Layout == LatentLayout.Split;
        yield return U("rope.dimension_count", a.RopeDim);
        yield return U("attention.kv_lora_rank", a.KvLoraRank);
        yield return U("attention.q_lora_rank", a.QueryLoraRank);
        yield return U("attention.head_count_kv", split ? 1 : shape.Heads);
        yield return U("attention.key_length", split ? a.KvLoraRank + a.RopeDim : headK);
        yield return U("attention.value_length", split ? a.KvLoraRank : a.ValueDim);
        if (split)
        {
            yield return U("attention.key_length_mla", headK);
            yield return U("attention.value_length_mla", a.ValueDim);
        }
        if (a.YarnFactor > 0)
        {
            yield return new("rope.scaling.type", GgufValue.FromString("yarn"));
            yield return F("rope.scaling.factor", a.YarnFactor);
            yield return U("rope.scaling.original_context_length", a.YarnOriginalContext);
            yield return F("rope.scaling.yarn_log_multiplier", a.YarnLogMultiplier);
        }
        yield return U("leading_dense_block_count", e.LeadingDense);
        yield return U("expert_count", e.Count);
        yield return U("expert_used_count", e.Used);
        yield return U("expert_shared_count", e.Shared);
        yield return U("expert_feed_forward_length", e.FeedForwardLength);
        yield return F("expert_weights_scale", e.Scale);
        yield return new("expert_weights_norm", GgufValue.FromBool(e.Normalize));
        yield return U("expert_gating_func", e.Gating == ExpertGating.Sigmoid ? 2 : 1);
        if (e.Groups > 1)
        {
            yield return U("expert_group_count", e.Groups);
            yield return U("expert_group_used_count", e.GroupsUsed);
        }
    }
}
