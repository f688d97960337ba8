namespace Malunet.Data;

/// <summary>
/// Python's <c>random.Random(seed)</c> for integer seeds: the MT19937 generator seeded by <c>init_by_array</c>,
/// <c>getrandbits</c>, <c>_randbelow</c> and <c>shuffle</c>, bit for bit, so a split made here equals the one
/// Python makes (the paper's split: <c>random.Random(42).shuffle(sorted(ids))</c>).
/// </summary>
public sealed class PythonRandom
{
    private readonly uint[] mt = new uint[624];
    private int index = 625;

    /// <summary>A generator seeded as Python's <c>random.seed(seed)</c> seeds it for an integer.</summary>
    public PythonRandom(long seed)
    {
        // init_by_array with the seed's 32-bit words, least significant first (Python: abs(seed)).
        ulong s = (ulong)Math.Abs(seed);
        var key = new List<uint>();
        do { key.Add((uint)(s & 0xffffffff)); s >>= 32; } while (s != 0);
        InitGenrand(19650218u);
        int i = 1, j = 0;
        for (int k = Math.Max(624, key.Count); k > 0; k--)
        {
            mt[i] = (uint)((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint)j);
            i++; j++;
            if (i >= 624) { mt[0] = mt[623]; i = 1; }
            if (j >= key.Count) j = 0;
        }
        for (int k = 623; k > 0; k--)
        {
            mt[i] = (uint)((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - (uint)i);
            i++;
            if (i >= 624) { mt[0] = mt[623]; i = 1; }
        }
        mt[0] = 0x80000000u;
        index = 624;
    }

    private void InitGenrand(uint s)
    {
        mt[0] = s;
        for (int i = 1; i < 624; i++) mt[i] = (uint)(1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + (uint)i);
        index = 624;
    }

    private uint NextUInt32()
    {
        if (index >= 624)
        {
            for (int k = 0; k < 624; k++)
            {
                uint y = (mt[k] & 0x80000000u) | (mt[(k + 1) % 624] & 0x7fffffffu);
                mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908b0dfu : 0u);
            }
            index = 0;
        }
        uint v = mt[index++];
        v ^= v >> 11;
        v ^= (v << 7) & 0x9d2c5680u;
        v ^= (v << 15) & 0xefc60000u;
        v ^= v >> 18;
        return v;
    }

    /// <summary><c>getrandbits(k)</c> for k ≤ 32.</summary>
    public uint GetRandBits(int k) => NextUInt32() >> (32 - k);

    /// <summary><c>_randbelow(n)</c>: rejection sampling on <c>n.bit_length()</c> bits.</summary>
    public int RandBelow(int n)
    {
        int k = 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)n);
        uint r = GetRandBits(k);
        while (r >= n) r = GetRandBits(k);
        return (int)r;
    }

    /// <summary><c>random.shuffle(x)</c>.</summary>
    public void Shuffle<T>(IList<T> x)
    {
        for (int i = x.Count - 1; i > 0; i--)
        {
            int j = RandBelow(i + 1);
            (x[i], x[j]) = (x[j], x[i]);
        }
    }

    /// <summary><c>random()</c>: a float in [0, 1) from 53 bits.</summary>
    public double NextDouble()
    {
        uint a = NextUInt32() >> 5, b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
    }
}
