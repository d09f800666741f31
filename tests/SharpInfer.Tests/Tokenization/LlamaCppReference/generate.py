#!/usr/bin/env python3
"""Regenerates llama-cpp-tokenizer-ids.json: the token ids llama.cpp gives for every tokenizer case the
parity tests check (LlamaCppParityTests.cs).

Each case names a vocabulary variant: one of the vocab files in ../shared/vocab, optionally with metadata keys
set (tokenizer.ggml.pre, general.name, add_space_prefix, ...) and some token texts/types replaced (to give a
vocabulary the chat and added tokens of the family it stands for). The variant is written to a temporary GGUF
file, loaded by llama.cpp with vocab_only, and every text is tokenized with llama_tokenize under the case's
add_special / parse_special flags. The test applies the same edits to the metadata in memory and must get
the same ids.

Usage (llama.cpp from ../shared/tools/get-llama-cpp.sh, plus the matching libllama-dev headers are not needed):
    python3 generate.py [--llama-cpp /tmp/llama-cpp] [--vocab ../../../../../shared/vocab]
The libllama of that folder is run through its own loader; the struct layouts below are those of
llama.cpp 0.7.0 (Debian libllama0 0.7.0+dfsg-2): check include/llama.h before using another version.
"""
import argparse, ctypes, json, os, struct, subprocess, sys, tempfile, unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, 'llama-cpp-tokenizer-ids.json')
LLAMA_CPP_VERSION = 'llama.cpp 0.7.0 (Debian sid libllama0 0.7.0+dfsg-2, build 11669)'

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# ---------------------------------------------------------------------------------------------------------
# Texts. Pre-tokenizer texts exercise every rule the families differ on; the others put special tokens next
# to spaces, tabs and newlines, at the edges, back to back and half-written.
# ---------------------------------------------------------------------------------------------------------
PRE_TEXTS = [
    "Hello world! I'm here, you're there; we've won, they'll see, she'd know. IT'S, WE'VE, THEY'LL",
    "Digits: 7 42 123 1234 12345 123456 1234567 12345678901 3.14159 1,000,000 -0.5e10",
    "  leading spaces,\ttabs\t\tand\n\nnewlines\r\nCRLF \n trailing   ",
    "Whitespace runs:    four,\u00a0nbsp,\u3000ideographic, \u2003em\u2003, \u0085next-line, \x0bvtab",
    "CJK 中文字符和汉字 日本語のひらがなとカタカナ 한국어 텍스트 混合English文本",
    "Outside the BMP: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐐀𐐨𐐷 (Deseret) 𞤀𞤢 (Adlam) 𠀀𠀁 (Ext B) 🦙🧬 👩‍👩‍👧‍👦 🇫🇷",
    # Written as escapes: these code points change under Unicode normalisation (U+1F7D → U+03CE, U+2126 → U+03A9, …).
    "Greek with tonos and polytonic: \u1f7d \u03ce \u1f80 \u1fbe \u03b9 \u1fd3 \u1fdb \u1fe5 \u1fb3, \u2126 (ohm) \u212a (kelvin) \u00b5 vs \u03bc, \u212b \u00c5",
    "Combining: e\u0301 a\u0308 n\u0303; Devanagari हिन्दी; Thai ภาษาไทย; Arabic العربية ١٢٣",
    "Code: def f(x): return x**2 + 1  # comment\n    if (a<=b && c!=d) { y[i] = \"s\"; }",
    "Punctuation...!!! ??? --- ___ ~~~ $$$ +=+ <=> ^^^ ||| ``` @#% &*()",
    "CamelCaseWords HTTPServer iPhone McDonald ABCdef dEF XMLHttpRequest",
    "Full-width: ＡＢＣ１２３！？ half-width ﾊﾝｶｸ; fancy quotes \u2018a\u2019 \u201cb\u201d \u2014 \u2026",
    "Numbers in scripts: ٣٤٥ ४५६ Ⅻ ⅰⅱ ½ x² ①②",
    "Mixed: don't DON'T o'clock rock'n'roll l'été 'quoted' \"double\"",
    "trailing spaces and newline \n",
    "\n\n\n",
    "   ",
    "a",
    "",
]

# The families the parity tests cover in full; the rest get the first ten texts.
FULL_FAMILIES = {'qwen2', 'deepseek-llm', 'deepseek-v3', 'deepseek-coder', 'smollm', 'gpt-4o', 'llama-bpe', 'default', 'gpt-2'}

# One name per distinct (patterns, flags) combination llama.cpp 0.7 accepts for byte-level BPE.
PRE_NAMES = ['default', 'llama-bpe', 'dbrx', 'chatglm-bpe', 'jais-2', 'minicpm5', 'deepseek-llm', 'deepseek-coder',
             'deepseek-v3', 'spark2_5', 'afmoe', 'youtu', 'falcon', 'starcoder', 'smollm', 'gpt-2', 'trillion', 'qwen2',
             'stablelm2', 'qwen35', 'ufakzeka', 'laguna', 'poro-chat', 'bloom', 'viking', 'tekken', 'chameleon', 'gpt-4o',
             'granite-embed-multi-97m', 'superbpe', 'seed-coder', 'bailingmoe', 'exaone-moe', 'kimi-k2']


def special_texts(tokens):
    """Texts that put the given special token texts in every position that matters."""
    a, b = tokens[0], tokens[1 % len(tokens)]
    c = tokens[2 % len(tokens)]
    return [
        f"{a}Hello{b}",
        f"{a} Hello {b} ",
        f"{a}\nHello\n{b}\n",
        f"Hi {a}  \n\t there{b}\n\n{c}",
        f" {a}{b}{c} ",
        f"x{a}y{b}z{c}w",
        f"{a}{a}  {a}\n{a}",
        f"half {a[:-1]} and {a[1:]} and {a}",
        f"{a}\r\n{b}\t{c}\u00a0tail",
        f"  {c}",
        f"{c}  ",
        f"{a}",
    ]


PLAIN, SPECIAL, BOTH = (False, False), (False, True), (True, True)

# ---------------------------------------------------------------------------------------------------------
# Variants: base vocab file, metadata keys to set, token edits {id: (text, type)}.
# ---------------------------------------------------------------------------------------------------------
def reserved(first, edits):
    """Llama 3's reserved special tokens from id `first` on, given new texts and types."""
    return {first + i: e for i, e in enumerate(edits)}


QWEN_TOKENS = reserved(128002, [('<|im_start|>', CONTROL), ('<|im_end|>', CONTROL), ('<|endoftext|>', CONTROL),
                                ('<think>', USER_DEFINED), ('</think>', USER_DEFINED), ('<tool_call>', USER_DEFINED),
                                ('</tool_call>', USER_DEFINED), ('<|fim_prefix|>', USER_DEFINED)])
DEEPSEEK_TOKENS = reserved(128002, [('<｜begin▁of▁sentence｜>', CONTROL), ('<｜end▁of▁sentence｜>', CONTROL),
                                    ('<｜User｜>', USER_DEFINED), ('<｜Assistant｜>', USER_DEFINED), ('<think>', USER_DEFINED),
                                    ('</think>', USER_DEFINED), ('<｜tool▁calls▁begin｜>', USER_DEFINED)])
CHATML_TOKENS = reserved(128002, [('<|im_start|>', CONTROL), ('<|im_end|>', CONTROL), ('<|endoftext|>', CONTROL)])
# Gemma-like SentencePiece: no space prefix, chat tokens, an added token, an unused slot.
GEMMA_TOKENS = {31990: ('<start_of_turn>', CONTROL), 31991: ('<end_of_turn>', CONTROL), 31992: ('<mask>', USER_DEFINED),
                31993: ('<image_soft_token>', USER_DEFINED), 31994: ('<unused0>', CONTROL)}


def variants():
    out = []
    for name in ['llama-spm', 'phi-3', 'gpt-2', 'llama-bpe', 'deepseek-coder']:
        out.append({'name': name, 'base': name, 'set': {}, 'tokens': {}})
    for pre in PRE_NAMES:
        if pre in ('llama-bpe', 'deepseek-coder', 'gpt-2'):
            continue
        edits = {'qwen2': QWEN_TOKENS, 'deepseek-llm': DEEPSEEK_TOKENS, 'deepseek-v3': DEEPSEEK_TOKENS,
                 'smollm': CHATML_TOKENS, 'gpt-4o': CHATML_TOKENS}.get(pre, {})
        # The families this project targets run on Llama 3's vocabulary; the others on GPT-2's, which loads in a
        # tenth of the time and splits just as visibly.
        base = 'llama-bpe' if pre in FULL_FAMILIES else 'gpt-2'
        out.append({'name': f'bpe-{pre}', 'base': base, 'set': {'tokenizer.ggml.pre': pre}, 'tokens': edits, 'pre': pre})
    # Name-driven attributes: jina-v2 <mask> and ModernBERT [MASK] swallow the whitespace before them.
    out.append({'name': 'bpe-jina-v2-de-mask', 'base': 'llama-bpe', 'set': {'tokenizer.ggml.pre': 'jina-v2-de'},
                'tokens': reserved(128002, [('<mask>', USER_DEFINED), ('<pad>', CONTROL), ('<s>', CONTROL)])})
    out.append({'name': 'spm-modern-bert-mask', 'base': 'llama-spm', 'set': {'general.name': 'modern-bert'},
                'tokens': {31990: ('[MASK]', USER_DEFINED), 31991: ('[SEP]', CONTROL), 31992: ('[CLS]', USER_DEFINED)}})
    out.append({'name': 'spm-gemma', 'base': 'llama-spm', 'set': {'tokenizer.ggml.add_space_prefix': False, 'general.name': 'gemma-2-2b-it'},
                'tokens': GEMMA_TOKENS})
    # Phi-3's rule keyed on the name: every special token gets rstrip, except <unk>, <s>, <|endoftext|>.
    out.append({'name': 'phi-3-renamed', 'base': 'phi-3', 'set': {'general.name': 'Llama'}, 'tokens': {}})
    return out


def texts_for(variant, tokens_by_id):
    """(text, modes) pairs of a variant."""
    name, pre = variant['name'], variant.get('pre')
    family = pre or name
    pre_texts = PRE_TEXTS if family in FULL_FAMILIES or not pre else PRE_TEXTS[:10]
    cases = [(t, [PLAIN]) for t in pre_texts] + [(PRE_TEXTS[0], [BOTH])]
    specials = {
        'llama-spm': ['</s>', '<s>', '<unk>'],
        'phi-3': ['<|user|>', '</s>', '<|end|>', '<|assistant|>', '<|system|>', '<|endoftext|>', '<s>', '<unk>'],
        'phi-3-renamed': ['<|user|>', '</s>', '<|end|>'],
        'gpt-2': ['<|endoftext|>', '<|endoftext|>', '<|endoftext|>'],
        'llama-bpe': ['<|start_header_id|>', '<|eot_id|>', '<|begin_of_text|>'],
        'deepseek-coder': ['<|User|>', '<｜begin▁of▁sentence｜>', '<｜fim▁hole｜>', 'õ', '<pad>', '<|Assistant|>'],
    }.get(name) or [t for t, _ in variant['tokens'].values()]
    if specials:
        groups = [specials[i:i + 3] for i in range(0, len(specials), 3)]
        for group in groups:
            cases += [(t, [PLAIN, SPECIAL, BOTH]) for t in special_texts(group)]
    return cases


# ---------------------------------------------------------------------------------------------------------
# Minimal GGUF (metadata only) reader and writer: enough to copy a vocab file with keys set and tokens edited.
# ---------------------------------------------------------------------------------------------------------
SCALARS = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?', 10: '<Q', 11: '<q', 12: '<d'}


def read_gguf(path):
    data = open(path, 'rb').read()
    assert data[:4] == b'GGUF'
    version, n_tensors, n_kv = struct.unpack_from('<IQQ', data, 4)
    assert n_tensors == 0, 'vocab files only'
    pos = 24
    def read_string():
        nonlocal pos
        (n,) = struct.unpack_from('<Q', data, pos)
        pos += 8
        s = data[pos:pos + n]
        pos += n
        return s
    def read_value(t):
        nonlocal pos
        if t == 8:
            return read_string()
        if t == 9:
            et, n = struct.unpack_from('<IQ', data, pos)
            pos += 12
            return (et, [read_value(et) for _ in range(n)])
        fmt = SCALARS[t]
        (v,) = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return v
    kv = []
    for _ in range(n_kv):
        key = read_string().decode()
        (t,) = struct.unpack_from('<I', data, pos)
        pos += 4
        kv.append([key, t, read_value(t)])
    return version, kv


def write_gguf(path, version, kv):
    out = bytearray(b'GGUF' + struct.pack('<IQQ', version, 0, len(kv)))
    def write_value(t, v):
        if t == 8:
            out.extend(struct.pack('<Q', len(v)) + v)
        elif t == 9:
            et, items = v
            out.extend(struct.pack('<IQ', et, len(items)))
            for item in items:
                write_value(et, item)
        else:
            out.extend(struct.pack(SCALARS[t], v))
    for key, t, v in kv:
        k = key.encode()
        out.extend(struct.pack('<Q', len(k)) + k + struct.pack('<I', t))
        write_value(t, v)
    open(path, 'wb').write(bytes(out))


def build_variant(vocab_dir, variant, path):
    version, kv = read_gguf(os.path.join(vocab_dir, f"ggml-vocab-{variant['base']}.gguf"))
    entries = {k: e for e in kv for k in [e[0]]}
    for key, value in variant['set'].items():
        t, v = (7, value) if isinstance(value, bool) else (8, value.encode())
        if key in entries:
            entries[key][1], entries[key][2] = t, v
        else:
            kv.append([key, t, v])
            entries[key] = kv[-1]
    tokens = entries['tokenizer.ggml.tokens'][2][1]
    types = entries['tokenizer.ggml.token_type'][2][1]
    existing = set(tokens)
    for tid, (text, ttype) in variant['tokens'].items():
        b = text.encode()
        assert b not in existing, f'{text} is already in {variant["base"]}'
        tokens[int(tid)] = b
        types[int(tid)] = ttype
    write_gguf(path, version, kv)
    return {int(i): t for i, (t, _) in variant['tokens'].items()}


# ---------------------------------------------------------------------------------------------------------
# Worker: runs inside llama.cpp's own loader and C library, tokenizes a request file.
# ---------------------------------------------------------------------------------------------------------
def worker(request_path):
    lib = ctypes.CDLL('libllama.so.0')
    class Params(ctypes.Structure):
        _fields_ = [('raw', ctypes.c_ubyte * 256)]
    lib.llama_backend_init()
    lib.llama_model_default_params.restype = Params
    params = lib.llama_model_default_params()
    assert params.raw[72] == 0, 'unexpected llama_model_params layout (vocab_only is at byte 72 in 0.7.0)'
    params.raw[72] = 1
    lib.llama_model_load_from_file.restype = ctypes.c_void_p
    lib.llama_model_load_from_file.argtypes = [ctypes.c_char_p, Params]
    lib.llama_model_get_vocab.restype = ctypes.c_void_p
    lib.llama_model_get_vocab.argtypes = [ctypes.c_void_p]
    lib.llama_tokenize.restype = ctypes.c_int32
    lib.llama_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_int32),
                                   ctypes.c_int32, ctypes.c_bool, ctypes.c_bool]
    request = json.load(open(request_path))
    results = []
    for job in request:
        model = lib.llama_model_load_from_file(job['model'].encode(), params)
        assert model, f"llama.cpp could not load {job['model']}"
        vocab = lib.llama_model_get_vocab(model)
        ids = []
        for text, add_special, parse_special in job['cases']:
            b = text.encode()
            buf = (ctypes.c_int32 * (len(b) * 2 + 16))()
            n = lib.llama_tokenize(vocab, b, len(b), buf, len(buf), add_special, parse_special)
            assert n >= 0
            ids.append(list(buf[:n]))
        results.append(ids)
    json.dump(results, sys.stdout)


def format_output(out):
    """One text and one case per line, so that a change in llama.cpp shows as a readable diff."""
    def dump(v):
        text = json.dumps(v, ensure_ascii=False, separators=(',', ':'))
        # Escape what an editor could silently change: characters that Unicode normalisation alters, format
        # characters (ZWJ, BOM...), combining marks (which NFC would fuse) and whitespace other than the space.
        def unstable(c):
            return c != ' ' and (unicodedata.normalize('NFC', c) != c or unicodedata.category(c) in ('Cf', 'Zs', 'Zl', 'Zp', 'Cc', 'Mn', 'Mc', 'Me'))
        return ''.join(f'\\u{ord(c):04x}' if unstable(c) and ord(c) < 0x10000 else c for c in text)
    lines = ['{', f'  "about": {dump(out["about"])},', '  "texts": [']
    lines += [f'    {dump(t)}' + (',' if i + 1 < len(out['texts']) else '') for i, t in enumerate(out['texts'])]
    lines += ['  ],', '  "variants": [']
    for vi, v in enumerate(out['variants']):
        head = {k: v[k] for k in ('name', 'base', 'set', 'tokens')}
        lines.append(f'    {dump(head)[:-1]},"cases":[')
        lines += [f'      {dump(c)}' + (',' if ci + 1 < len(v['cases']) else '') for ci, c in enumerate(v['cases'])]
        lines.append('    ]}' + (',' if vi + 1 < len(out['variants']) else ''))
    lines += ['  ]', '}', '']
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--llama-cpp', default='/tmp/llama-cpp')
    parser.add_argument('--vocab', default=os.path.normpath(os.path.join(HERE, '../../../../../shared/vocab')))
    parser.add_argument('--worker')
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)
    lib = os.path.join(args.llama_cpp, 'usr/lib/x86_64-linux-gnu')
    out = {'about': 'Token ids from ' + LLAMA_CPP_VERSION + ', llama_tokenize on vocab-only loads of each variant; '
                    'regenerate with generate.py beside this file.',
           'texts': [], 'variants': []}
    text_index = {}
    jobs = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in variants():
            path = os.path.join(tmp, variant['name'] + '.gguf')
            build_variant(args.vocab, variant, path)
            cases = []
            for text, modes in texts_for(variant, None):
                if text not in text_index:
                    text_index[text] = len(out['texts'])
                    out['texts'].append(text)
                cases += [(text, a, p) for a, p in modes]
            jobs.append({'model': path, 'cases': cases})
            out['variants'].append({'name': variant['name'], 'base': variant['base'], 'set': variant['set'],
                                    'tokens': {str(k): list(v) for k, v in variant['tokens'].items()}, 'cases': cases})
        request = os.path.join(tmp, 'request.json')
        json.dump(jobs, open(request, 'w'))
        command = [os.path.join(lib, 'ld-linux-x86-64.so.2'), '--library-path',
                   f'{lib}:{lib}/llama:/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu',
                   os.path.realpath(sys.executable), os.path.abspath(__file__), '--worker', request]
        result = subprocess.run(command, capture_output=True)
        if result.returncode != 0:
            sys.exit(result.stderr.decode()[-3000:])
        ids = json.loads(result.stdout)
    for variant, variant_ids in zip(out['variants'], ids):
        variant['cases'] = [{'text': text_index[t], 'add_special': a, 'parse_special': p, 'ids': i}
                            for (t, a, p), i in zip(variant['cases'], variant_ids)]
    with open(OUTPUT, 'w', encoding='utf-8') as f:
        f.write(format_output(out))
    print(f"{sum(len(v['cases']) for v in out['variants'])} cases in {len(out['variants'])} variants -> {OUTPUT}")


if __name__ == '__main__':
    main()
