namespace SharpInfer.Tests;

/// <summary>
/// Tests that measure the process's managed heap (<see cref="GC.GetTotalMemory(bool)"/>) run in this collection, which
/// xunit runs alone, after the parallel ones: another test's allocations would otherwise be measured with theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurements
{
    public const string Name = "memory measurements";
}
