using System.Text;

namespace SharpInfer.Tokenization;

/// <summary>A piece of the text: a matched special token (<c>Token ≥ 0</c>), or plain text [Start, Start + Length).</summary>
internal readonly record struct Fragment(int Token, int Start, int Length);

/// <summary>
/// Cuts special and added tokens out of text before normal tokenization, as llama.cpp's
/// <c>tokenizer_st_partition</c> does:
/// <list type="bullet">
/// <item>candidates are the control, user-defined and unknown tokens, longest text (in UTF-8 bytes) first, and each
/// one is cut out of every remaining text fragment before the next is tried;</item>
/// <item>user-defined tokens are always matched; control and unknown tokens (a token may be user-defined and control at
/// once, like Phi-3's <c>&lt;/s&gt;</c>) only when special tokens are parsed;</item>
/// <item>a token with the lstrip attribute removes the ASCII whitespace (space, \t, \n, \v, \f, \r) just before it
/// in its fragment, one with rstrip the whitespace just after it; text left empty disappears.</item>
/// </list>
/// </summary>
internal sealed class SpecialTokenMatcher
{
    private readonly Vocabulary _vocabulary;
    private readonly int[] _candidates;

    public SpecialTokenMatcher(Vocabulary vocabulary)
    {
        _vocabulary = vocabulary;
        const TokenAttributes special = TokenAttributes.Control | TokenAttributes.UserDefined | TokenAttributes.Unknown;
        _candidates = Enumerable.Range(0, vocabulary.Count)
            .Where(id => (vocabulary.Attributes[id] & special) != 0)
            .OrderByDescending(id => Encoding.UTF8.GetByteCount(vocabulary.Texts[id]))
            .ThenBy(id => id)
            .ToArray();
    }

    /// <summary>Splits <paramref name="text"/> into fragments, in order, none empty (the list is the scratch's).</summary>
    public List<Fragment> Partition(string text, bool parseSpecial, EncodeScratch scratch)
    {
        var fragments = scratch.Fragments;
        fragments.Clear();
        if (text.Length == 0) return fragments;
        fragments.Add(new Fragment(-1, 0, text.Length));
        // Most prompts hold none of the characters special tokens start with: skip those tokens without a search.
        var present = scratch.PresentChars;
        Array.Clear(present);
        foreach (char c in text) present[c >> 6] |= 1UL << (c & 63);
        var replacement = scratch.Replacement;
        foreach (int id in _candidates)
        {
            var attributes = _vocabulary.Attributes[id];
            if (!parseSpecial && (attributes & (TokenAttributes.Control | TokenAttributes.Unknown)) != 0) continue;
            string token = _vocabulary.Texts[id];
            if ((present[token[0] >> 6] & (1UL << (token[0] & 63))) == 0) continue;
            for (int i = 0; i < fragments.Count; i++)
            {
                var f = fragments[i];
                if (f.Token >= 0 || text.AsSpan(f.Start, f.Length).IndexOf(token, StringComparison.Ordinal) < 0) continue;
                replacement.Clear();
                Cut(text, f, id, attributes, token, replacement);
                fragments.RemoveAt(i);
                fragments.InsertRange(i, replacement);
                i += replacement.Count - 1;
            }
        }
        return fragments;
    }

    /// <summary>Cuts every occurrence of one token out of one text fragment, stripping whitespace as its attributes say.</summary>
    private static void Cut(string text, Fragment f, int id, TokenAttributes attributes, string token, List<Fragment> output)
    {
        int start = f.Start, end = f.Start + f.Length;
        while (start < end)
        {
            int at = text.AsSpan(start, end - start).IndexOf(token, StringComparison.Ordinal);
            if (at < 0) break;
            at += start;
            int leftLength = at - start;
            if ((attributes & TokenAttributes.LStrip) != 0)
            {
                while (leftLength > 0 && IsAsciiSpace(text[start + leftLength - 1])) leftLength--;
            }
            if (leftLength > 0) output.Add(new Fragment(-1, start, leftLength));
            output.Add(new Fragment(id, at, token.Length));
            start = at + token.Length;
            if ((attributes & TokenAttributes.RStrip) != 0)
            {
                while (start < end && IsAsciiSpace(text[start])) start++;
            }
        }
        if (start < end) output.Add(new Fragment(-1, start, end - start));
    }

    /// <summary>C's isspace in the "C" locale, which llama.cpp applies byte by byte.</summary>
    private static bool IsAsciiSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';
}
