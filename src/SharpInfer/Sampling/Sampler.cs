using System.Security.Cryptography;

namespace SharpInfer.Sampling;

/// <summary>
/// Picks the next token from a row of logits with the chain described by <see cref="SamplingOptions"/>, keeping
/// the recent-token history the penalties need. All working arrays are allocated once, so sampling a token
/// allocates nothing.
/// </summary>
public sealed class Sampler
{
    private readonly SamplingOptions _options;
    private readonly int _vocab;
    private readonly float[] _logits;
    private readonly int[] _ids;
    private readonly float[] _probs;
    private readonly float[] _sortKeys;
    private readonly int[] _history;
    private readonly int[] _counts;
    private int _historyCount, _historyStart;
    private readonly Xoshiro256 _rng;
    private int[]? _typicalOrder;
    private double[]? _typicalDeviation;
    private bool[]? _typicalChosen;

    /// <summary>Creates a sampler for a vocabulary of <paramref name="vocabSize"/> tokens.</summary>
    public Sampler(SamplingOptions options, int vocabSize, int contextSize = 4096)
    {
        options.Validate();
        _options = options;
        _vocab = vocabSize;
        _logits = new float[vocabSize];
        _ids = new int[vocabSize];
        _probs = new float[vocabSize];
        _sortKeys = new float[vocabSize];
        _counts = new int[vocabSize];
        int window = options.PenaltyLastN < 0 ? Math.Max(1, contextSize) : Math.Max(1, options.PenaltyLastN);
        _history = new int[window];
        Seed = options.Seed ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        _rng = new Xoshiro256(Seed);
        if (options.LogitBias is { } bias)
        {
            foreach (var id in bias.Keys)
            {
                if ((uint)id >= (uint)vocabSize) throw new ArgumentException($"logit bias names token {id}, outside the vocabulary of {vocabSize}");
            }
        }
    }

    /// <summary>The seed in use (the given one, or the one picked at random).</summary>
    public ulong Seed { get; }

    /// <summary>Records a token (prompt or generated) for the penalties.</summary>
    public void Accept(int token)
    {
        if ((uint)token >= (uint)_vocab) return;
        if (_historyCount == _history.Length)
        {
            _counts[_history[_historyStart]]--;
            _history[_historyStart] = token;
            _historyStart = (_historyStart + 1) % _history.Length;
        }
        else
        {
            _history[(_historyStart + _historyCount) % _history.Length] = token;
            _historyCount++;
        }
        _counts[token]++;
    }

    /// <summary>Forgets the history.</summary>
    public void Reset()
    {
        Array.Clear(_counts);
        _historyCount = 0;
        _historyStart = 0;
    }

    /// <summary>Chooses a token; does not record it (call <see cref="Accept"/>).</summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        if (logits.Length != _vocab) throw new ArgumentException($"expected {_vocab} logits, got {logits.Length}");
        logits.CopyTo(_logits);
        ApplyBias();
        ApplyPenalties();
        if (_options.Temperature <= 0) return Argmax(_logits);

        // Candidates: all tokens, then progressively fewer. _ids[..n] are kept sorted by logit, descending.
        int n = TopK(_options.TopK);
        Softmax(n);
        n = Typical(n, _options.TypicalP);
        n = TopP(n, _options.TopP);
        n = MinP(n, _options.MinP);
        for (int i = 0; i < n; i++) _logits[_ids[i]] /= _options.Temperature;
        Softmax(n);
        double u = _rng.NextDouble();
        double cumulative = 0;
        for (int i = 0; i < n; i++)
        {
            cumulative += _probs[i];
            if (u < cumulative) return _ids[i];
        }
        return _ids[n - 1];
    }

    private void ApplyBias()
    {
        if (_options.LogitBias is not { } bias) return;
        foreach (var (id, b) in bias) _logits[id] += b;
    }

    private void ApplyPenalties()
    {
        if (_options.PenaltyLastN == 0 || _historyCount == 0) return;
        bool repeat = _options.RepeatPenalty != 1f, frequency = _options.FrequencyPenalty != 0, presence = _options.PresencePenalty != 0;
        if (!repeat && !frequency && !presence) return;
        for (int k = 0; k < _historyCount; k++)
        {
            int id = _history[(_historyStart + k) % _history.Length];
            int count = _counts[id];
            if (count <= 0) continue;
            // Visit each distinct token once: mark by negating its count, restored below.
            _counts[id] = -count;
            ref float l = ref _logits[id];
            if (repeat) l = l > 0 ? l / _options.RepeatPenalty : l * _options.RepeatPenalty;
            l -= count * _options.FrequencyPenalty + _options.PresencePenalty;
        }
        for (int k = 0; k < _historyCount; k++)
        {
            int id = _history[(_historyStart + k) % _history.Length];
            if (_counts[id] < 0) _counts[id] = -_counts[id];
        }
    }

    private static int Argmax(float[] logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best]) best = i;
        }
        return best;
    }

    private int TopK(int k)
    {
        int n = _vocab;
        for (int i = 0; i < n; i++) _ids[i] = i;
        if (k <= 0 || k >= n)
        {
            SortByLogit(0, n);
            return n;
        }
        // Partition so the k largest come first, then sort just those.
        int lo = 0, hi = n - 1;
        while (lo < hi)
        {
            int p = Partition(lo, hi);
            if (p == k) break;
            if (p < k) lo = p + 1;
            else hi = p - 1;
        }
        SortByLogit(0, k);
        return k;
    }

    private int Partition(int lo, int hi)
    {
        int mid = lo + (hi - lo) / 2;
        (_ids[mid], _ids[hi]) = (_ids[hi], _ids[mid]);
        float pivot = _logits[_ids[hi]];
        int store = lo;
        for (int i = lo; i < hi; i++)
        {
            if (Greater(_ids[i], _ids[hi], pivot))
            {
                (_ids[i], _ids[store]) = (_ids[store], _ids[i]);
                store++;
            }
        }
        (_ids[store], _ids[hi]) = (_ids[hi], _ids[store]);
        return store;
    }

    private bool Greater(int a, int b, float pivot) => _logits[a] > pivot || (_logits[a] == pivot && a < b);

    /// <summary>Sorts candidates by logit, highest first (keys are negated logits; primitive keys sort without allocating).</summary>
    private void SortByLogit(int start, int count)
    {
        for (int i = start; i < start + count; i++) _sortKeys[i] = -_logits[_ids[i]];
        Array.Sort(_sortKeys, _ids, start, count);
    }

    private void Softmax(int n)
    {
        float max = _logits[_ids[0]];
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            float e = MathF.Exp(_logits[_ids[i]] - max);
            _probs[i] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < n; i++) _probs[i] *= inv;
    }

    private int TopP(int n, float p)
    {
        if (p >= 1f) return n;
        double cumulative = 0;
        for (int i = 0; i < n; i++)
        {
            cumulative += _probs[i];
            if (cumulative >= p) return i + 1;
        }
        return n;
    }

    private int MinP(int n, float p)
    {
        if (p <= 0f) return n;
        float threshold = _probs[0] * p;
        int keep = 1;
        while (keep < n && _probs[keep] >= threshold) keep++;
        return keep;
    }

    private int Typical(int n, float p)
    {
        if (p >= 1f || n <= 1) return n;
        // Entropy of the distribution; tokens are ranked by how far their surprise is from it.
        double entropy = 0;
        for (int i = 0; i < n; i++)
        {
            if (_probs[i] > 0) entropy -= _probs[i] * Math.Log(_probs[i]);
        }
        _typicalOrder ??= new int[_vocab];
        _typicalDeviation ??= new double[_vocab];
        _typicalChosen ??= new bool[_vocab];
        var order = _typicalOrder.AsSpan(0, n);
        var deviation = _typicalDeviation.AsSpan(0, n);
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            deviation[i] = Math.Abs(-Math.Log(Math.Max(_probs[i], float.Epsilon)) - entropy);
        }
        deviation.Sort(order);
        double cumulative = 0;
        int keep = n;
        for (int i = 0; i < n; i++)
        {
            cumulative += _probs[order[i]];
            if (cumulative > p)
            {
                keep = i + 1;
                break;
            }
        }
        // Keep the chosen tokens in descending-logit order for the filters after this one.
        var chosen = _typicalChosen.AsSpan(0, n);
        chosen.Clear();
        for (int i = 0; i < keep; i++) chosen[order[i]] = true;
        int w = 0;
        for (int i = 0; i < n; i++)
        {
            if (!chosen[i]) continue;
            _ids[w] = _ids[i];
            _probs[w] = _probs[i];
            w++;
        }
        return w;
    }
}
