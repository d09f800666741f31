using System.CommandLine;
using SharpInfer.Sampling;

namespace SharpInfer.Cli.Commands;

/// <summary>The sampler options shared by the commands that generate text (run, chat).</summary>
internal sealed class SamplingOptionSet
{
    public Option<float> Temperature { get; } = new("--temp") { Description = "temperature (0: greedy, the default)", DefaultValueFactory = _ => 0f };
    public Option<int> TopK { get; } = new("--top-k") { Description = "top-k (0: off)", DefaultValueFactory = _ => 40 };
    public Option<float> TopP { get; } = new("--top-p") { Description = "top-p (1: off)", DefaultValueFactory = _ => 0.95f };
    public Option<float> MinP { get; } = new("--min-p") { Description = "min-p (0: off)", DefaultValueFactory = _ => 0.05f };
    public Option<float> Typical { get; } = new("--typical") { Description = "locally typical sampling (1: off)", DefaultValueFactory = _ => 1f };
    public Option<float> RepeatPenalty { get; } = new("--repeat-penalty") { Description = "repetition penalty (1: off)", DefaultValueFactory = _ => 1f };
    public Option<int> RepeatLastN { get; } = new("--repeat-last-n") { Description = "tokens the penalties look back over (-1: whole context)", DefaultValueFactory = _ => 64 };
    public Option<float> FrequencyPenalty { get; } = new("--frequency-penalty") { Description = "frequency penalty (0: off)" };
    public Option<float> PresencePenalty { get; } = new("--presence-penalty") { Description = "presence penalty (0: off)" };
    public Option<long> Seed { get; } = new("--seed", "-s") { Description = "random seed (-1: random)", DefaultValueFactory = _ => -1 };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Temperature, TopK, TopP, MinP, Typical, RepeatPenalty, RepeatLastN, FrequencyPenalty, PresencePenalty, Seed })
        {
            command.Options.Add(o);
        }
    }

    /// <summary>The sampler chain the options describe, validated.</summary>
    public SamplingOptions Read(ParseResult parse)
    {
        long seed = parse.GetValue(Seed);
        var sampling = new SamplingOptions
        {
            Temperature = parse.GetValue(Temperature),
            TopK = parse.GetValue(TopK),
            TopP = parse.GetValue(TopP),
            MinP = parse.GetValue(MinP),
            TypicalP = parse.GetValue(Typical),
            RepeatPenalty = parse.GetValue(RepeatPenalty),
            PenaltyLastN = parse.GetValue(RepeatLastN),
            FrequencyPenalty = parse.GetValue(FrequencyPenalty),
            PresencePenalty = parse.GetValue(PresencePenalty),
            Seed = seed < 0 ? null : (ulong)seed,
        };
        try
        {
            sampling.Validate();
        }
        catch (ArgumentException e)
        {
            // An out-of-range sampling value is bad usage (exit 2), as every option error is.
            throw new UsageException(e.Message);
        }
        return sampling;
    }
}
