using SharpInfer.Cli.Commands;

namespace SharpInfer.Tests.Cli;

/// <summary>The note `run` and `bench` print when a large model's weights sit in 4 KiB pages.</summary>
public sealed class SmallPagesNoteTests
{
    private const long MiB = 1 << 20;

    [Fact]
    public void MostlySmallPagesOfALargeModelGetTheNote()
    {
        string? note = CommonOptions.SmallPagesNote("/m/model.gguf", 590 * MiB, 12 * MiB, hugePagesAvailable: true);
        Assert.NotNull(note);
        Assert.StartsWith("note: 12 of 590 MiB of weights are in 2 MiB pages", note);
        Assert.Contains("dd if=/m/model.gguf iflag=nocache count=0", note);
        Assert.DoesNotContain('\n', note);
    }

    [Theory]
    [InlineData(590, 295L, true)]   // half in huge pages is enough
    [InlineData(63, 0L, true)]      // small models are not worth a note
    [InlineData(590, 0L, false)]    // the system has no huge pages to give
    [InlineData(590, null, true)]   // unknown (not Linux, no smaps)
    public void NoNoteOtherwise(long weightsMiB, long? hugeMiB, bool available)
    {
        Assert.Null(CommonOptions.SmallPagesNote("/m/model.gguf", weightsMiB * MiB, hugeMiB * MiB, available));
    }
}
