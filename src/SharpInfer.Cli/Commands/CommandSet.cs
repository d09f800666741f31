using System.CommandLine;

namespace SharpInfer.Cli.Commands;

/// <summary>All subcommands of <c>sharpinfer</c>.</summary>
internal static class CommandSet
{
    public static IEnumerable<Command> Create(CliIO io) =>
    [
        InspectCommand.Create(io),
        QuantizeCommand.Create(io),
        TokenizeCommand.Create(io),
        TemplateCommand.Create(io),
        RunCommand.Create(io),
        ChatCommand.Create(io),
        LogitsCommand.Create(io),
        KvSizeCommand.Create(io),
        KvQualityCommand.Create(io),
        SynthCommand.Create(io),
        BenchCommand.Create(io),
        ServeCommand.Create(io),
        ServeBenchCommand.Create(io),
        PullCommand.Create(io),
        ListCommand.Create(io),
        SelfTestCommand.Create(io),
    ];
}
