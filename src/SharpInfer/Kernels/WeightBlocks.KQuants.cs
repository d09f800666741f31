using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>Where a K-quant super-block is unpacked to: 256 unsigned values, per-16 integer scales, per-16 float biases.</summary>
internal unsafe struct SuperBlockScratch
{
    /// <summary>The 256 values as unsigned bytes, in element order.</summary>
    public fixed byte U[256];
    /// <summary>Integer scale of each 16-element group, repeated 4× so 32-byte chunk c reads lanes 8c..8c+7.</summary>
    public fixed int Scales[64];
    /// <summary>d·sc·offset + dmin·m of each 16-element group.</summary>
    public fixed float Bias[16];
    /// <summary>Super-block scale d.</summary>
    public float D;
}

/// <summary>
/// A 256-element K-quant format as the integer kernels see it: weight = d·sc_g·(U − offset_g) − dmin·m_g for 16-element
/// groups g, unpacked into a <see cref="SuperBlockScratch"/>.
/// </summary>
internal unsafe interface ISuperBlock
{
    /// <summary>Bytes per super-block.</summary>
    static abstract int BlockBytes { get; }

    /// <summary>Unpacks one super-block.</summary>
    static abstract void Unpack(byte* block, SuperBlockScratch* s);
}

internal static unsafe class SuperBlockUnpack
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetGroupScale(SuperBlockScratch* s, int group, int scale)
    {
        int* p = s->Scales + group * 4;
        p[0] = p[1] = p[2] = p[3] = scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Bits(Vector256<byte> v, int shift, byte mask) =>
        Vector256.ShiftRightLogical(v.AsUInt16(), shift).AsByte() & Vector256.Create(mask);
}

internal unsafe struct Q2_KBlock : ISuperBlock
{
    public static int BlockBytes => 84;

    public static void Unpack(byte* block, SuperBlockScratch* s)
    {
        byte* scales = block;
        float d = HalfFloat.ToSingle(*(ushort*)(block + 80));
        float dmin = HalfFloat.ToSingle(*(ushort*)(block + 82));
        for (int half = 0; half < 2; half++)
        {
            var q = Vector256.Load(block + 16 + 32 * half);
            for (int j = 0; j < 4; j++) SuperBlockUnpack.Bits(q, 2 * j, 0x03).Store(s->U + 32 * (half * 4 + j));
        }
        for (int g = 0; g < 16; g++)
        {
            SuperBlockUnpack.SetGroupScale(s, g, scales[g] & 0xF);
            s->Bias[g] = dmin * (scales[g] >> 4);
        }
        s->D = d;
    }
}

internal unsafe struct Q3_KBlock : ISuperBlock
{
    public static int BlockBytes => 110;

    public static void Unpack(byte* block, SuperBlockScratch* s)
    {
        float d = HalfFloat.ToSingle(*(ushort*)(block + 108));
        var hm = Vector256.Load(block);
        for (int half = 0; half < 2; half++)
        {
            var q = Vector256.Load(block + 32 + 32 * half);
            for (int j = 0; j < 4; j++)
            {
                int bit = half * 4 + j;
                var high = SuperBlockUnpack.Bits(hm, bit, 0x01);
                (SuperBlockUnpack.Bits(q, 2 * j, 0x03) | Vector256.ShiftLeft(high.AsUInt16(), 2).AsByte()).Store(s->U + 32 * bit);
            }
        }
        sbyte* sc = stackalloc sbyte[16];
        Dequantize.ScalesQ3K(block + 96, sc);
        for (int g = 0; g < 16; g++)
        {
            SuperBlockUnpack.SetGroupScale(s, g, sc[g]);
            s->Bias[g] = d * sc[g] * 4;
        }
        s->D = d;
    }
}

internal unsafe struct Q4_KBlock : ISuperBlock
{
    public static int BlockBytes => 144;

    public static void Unpack(byte* block, SuperBlockScratch* s)
    {
        float d = HalfFloat.ToSingle(*(ushort*)block);
        float dmin = HalfFloat.ToSingle(*(ushort*)(block + 2));
        for (int p = 0; p < 4; p++)
        {
            var q = Vector256.Load(block + 16 + 32 * p);
            (q & Vector256.Create((byte)0x0F)).Store(s->U + 64 * p);
            SuperBlockUnpack.Bits(q, 4, 0x0F).Store(s->U + 64 * p + 32);
        }
        for (int c = 0; c < 8; c++)
        {
            Dequantize.ScaleMinK4(c, block + 4, out byte sc, out byte m);
            SuperBlockUnpack.SetGroupScale(s, 2 * c, sc);
            SuperBlockUnpack.SetGroupScale(s, 2 * c + 1, sc);
            s->Bias[2 * c] = s->Bias[2 * c + 1] = dmin * m;
        }
        s->D = d;
    }
}

internal unsafe struct Q5_KBlock : ISuperBlock
{
    public static int BlockBytes => 176;

    public static void Unpack(byte* block, SuperBlockScratch* s)
    {
        float d = HalfFloat.ToSingle(*(ushort*)block);
        float dmin = HalfFloat.ToSingle(*(ushort*)(block + 2));
        var qh = Vector256.Load(block + 16);
        for (int p = 0; p < 4; p++)
        {
            var q = Vector256.Load(block + 48 + 32 * p);
            var lowHigh = Vector256.ShiftLeft(SuperBlockUnpack.Bits(qh, 2 * p, 0x01).AsUInt16(), 4).AsByte();
            var highHigh = Vector256.ShiftLeft(SuperBlockUnpack.Bits(qh, 2 * p + 1, 0x01).AsUInt16(), 4).AsByte();
            ((q & Vector256.Create((byte)0x0F)) | lowHigh).Store(s->U + 64 * p);
            (SuperBlockUnpack.Bits(q, 4, 0x0F) | highHigh).Store(s->U + 64 * p + 32);
        }
        for (int c = 0; c < 8; c++)
        {
            Dequantize.ScaleMinK4(c, block + 4, out byte sc, out byte m);
            SuperBlockUnpack.SetGroupScale(s, 2 * c, sc);
            SuperBlockUnpack.SetGroupScale(s, 2 * c + 1, sc);
            s->Bias[2 * c] = s->Bias[2 * c + 1] = dmin * m;
        }
        s->D = d;
    }
}

internal unsafe struct Q6_KBlock : ISuperBlock
{
    public static int BlockBytes => 210;

    public static void Unpack(byte* block, SuperBlockScratch* s)
    {
        float d = HalfFloat.ToSingle(*(ushort*)(block + 208));
        sbyte* scales = (sbyte*)(block + 192);
        var low = Vector256.Create((byte)0x0F);
        for (int h = 0; h < 2; h++)
        {
            var ql = Vector256.Load(block + 64 * h);
            var ql2 = Vector256.Load(block + 64 * h + 32);
            var qh = Vector256.Load(block + 128 + 32 * h);
            byte* u = s->U + 128 * h;
            ((ql & low) | Vector256.ShiftLeft(SuperBlockUnpack.Bits(qh, 0, 0x03).AsUInt16(), 4).AsByte()).Store(u);
            ((ql2 & low) | Vector256.ShiftLeft(SuperBlockUnpack.Bits(qh, 2, 0x03).AsUInt16(), 4).AsByte()).Store(u + 32);
            (SuperBlockUnpack.Bits(ql, 4, 0x0F) | Vector256.ShiftLeft(SuperBlockUnpack.Bits(qh, 4, 0x03).AsUInt16(), 4).AsByte()).Store(u + 64);
            (SuperBlockUnpack.Bits(ql2, 4, 0x0F) | Vector256.ShiftLeft(SuperBlockUnpack.Bits(qh, 6, 0x03).AsUInt16(), 4).AsByte()).Store(u + 96);
        }
        for (int g = 0; g < 16; g++)
        {
            SuperBlockUnpack.SetGroupScale(s, g, scales[g]);
            s->Bias[g] = d * scales[g] * 32;
        }
        s->D = d;
    }
}
