namespace SharpInfer.Tokenization;

/// <summary>
/// Splits text into words with a sequence of patterns; each pattern re-splits every piece the previous one
/// produced, and text between matches stays as pieces of its own (llama.cpp's semantics). Immutable and
/// thread-safe: all working state lives in a <see cref="PreTokenizerScratch"/> owned by the caller.
/// </summary>
internal sealed class PreTokenizer
{
    private delegate void Splitter(int[] cps, int start, int end, List<(int, int)> output);

    private readonly Step[] _steps;

    /// <summary>One pattern: a hand-written splitter, or the regex engine.</summary>
    private readonly record struct Step(Splitter? Split, CodepointRegex? Regex);

    public PreTokenizer(PreTokenizerFamily family) => _steps = family.Patterns.Select(CreateStep).ToArray();

    private static Step CreateStep(string pattern) => pattern switch
    {
        PreTokenizerPatterns.Gpt2 => new Step(PreTokenizerSplitters.SplitGpt2, null),
        PreTokenizerPatterns.Llama3 => new Step(PreTokenizerSplitters.SplitLlama3, null),
        PreTokenizerPatterns.Qwen2 => new Step(PreTokenizerSplitters.SplitQwen2, null),
        PreTokenizerPatterns.KimiK2 => new Step(PreTokenizerSplitters.SplitKimiK2, null),
        PreTokenizerPatterns.RightAlignedThrees => new Step(PreTokenizerSplitters.SplitRightAlignedThrees, null),
        PreTokenizerPatterns.AfmoeDigits => new Step(PreTokenizerSplitters.SplitAfmoeDigits, null),
        _ => new Step(null, new CodepointRegex(pattern)),
    };

    /// <summary>
    /// Splits the code points in <c>scratch.CodePoints[0..count)</c> into words; the result is in
    /// <c>scratch.Pieces</c> as (start, length) pairs over those code points, in order, none empty.
    /// </summary>
    public void Split(PreTokenizerScratch scratch, int count)
    {
        var pieces = scratch.Pieces;
        var next = scratch.Next;
        pieces.Clear();
        if (count > 0) pieces.Add((0, count));
        foreach (var step in _steps)
        {
            next.Clear();
            if (step.Split is { } split)
            {
                foreach (var (start, length) in pieces) split(scratch.CodePoints, start, start + length, next);
            }
            else
            {
                SplitWithRegex(step.Regex!, scratch, pieces, next, count);
            }
            (pieces, next) = (next, pieces);
        }
        scratch.Pieces = pieces;
        scratch.Next = next;
    }

    private static void SplitWithRegex(CodepointRegex regex, PreTokenizerScratch scratch, List<(int, int)> pieces, List<(int, int)> next, int count)
    {
        int[] input = scratch.Prepared(regex.UsesCategories, count);
        var matches = scratch.Matches;
        foreach (var (start, length) in pieces)
        {
            matches.Clear();
            regex.Matches(input, start, start + length, matches, scratch.Backtrack);
            int cursor = start;
            foreach (var (ms, ml) in matches)
            {
                // An empty match still cuts the piece (llama.cpp keeps its zero-length word, which encodes to nothing).
                if (ms > cursor) next.Add((cursor, ms - cursor));
                if (ml > 0) next.Add((ms, ml));
                cursor = ms + ml;
            }
            if (cursor < start + length) next.Add((cursor, start + length - cursor));
        }
    }
}

/// <summary>
/// Reusable buffers for one tokenization call: code points, their collapsed forms for the regex engine, and
/// the piece lists. Grown on demand and kept, so a long prompt does not allocate per word.
/// </summary>
internal sealed class PreTokenizerScratch
{
    private int[] _collapsed = [];
    private int[] _raw = [];
    private int _collapsedFor = -1, _rawFor = -1;

    /// <summary>The code points of the text being split.</summary>
    public int[] CodePoints = new int[64];

    /// <summary>The current pieces (start, length).</summary>
    public List<(int, int)> Pieces = new();

    /// <summary>The pieces being built by a step.</summary>
    public List<(int, int)> Next = new();

    /// <summary>Matches of one regex in one piece.</summary>
    public readonly List<(int Start, int Length)> Matches = new();

    /// <summary>The regex engine's choice points.</summary>
    public readonly BacktrackStack Backtrack = new();

    /// <summary>Decodes <paramref name="text"/> into <see cref="CodePoints"/>; returns how many.</summary>
    public int Load(ReadOnlySpan<char> text)
    {
        if (CodePoints.Length < text.Length) CodePoints = new int[Math.Max(text.Length, CodePoints.Length * 2)];
        _collapsedFor = _rawFor = -1;
        return UnicodeFlags.CodePoints(text, CodePoints);
    }

    /// <summary>The input a regex matches against: collapsed categories when it uses \p{…}, else code points.</summary>
    public int[] Prepared(bool categories, int count)
    {
        ref int[] buffer = ref categories ? ref _collapsed : ref _raw;
        ref int preparedFor = ref categories ? ref _collapsedFor : ref _rawFor;
        if (preparedFor == count) return buffer;
        if (buffer.Length < count) buffer = new int[Math.Max(count, buffer.Length * 2)];
        CodepointRegex.Prepare(CodePoints.AsSpan(0, count), buffer, categories);
        preparedFor = count;
        return buffer;
    }
}
