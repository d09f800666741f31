namespace SharpInfer.Tests;

/// <summary>
/// Tests that act on every write in progress in the process (<see cref="Files.OutputFile.RemoveActiveTemporaries"/>,
/// what a second Ctrl+C does) run in this collection, alone: run beside others they removed the temporary file of
/// whatever another test was writing at that moment (seen once: a <c>synth</c> fixture failed with four tests).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideOutputs
{
    public const string Name = "process-wide outputs";
}
