using System.Collections;
using System.IO.Compression;
using System.Text;
using Razorvine.Pickle;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Interop;

/// <summary>
/// Reads and writes PyTorch's <c>torch.save</c> zip format (PyTorch 1.6 and later): a zip whose
/// <c>&lt;archive&gt;/data.pkl</c> is a pickle of the saved object, in which every tensor is a call to
/// <c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)</c> and every storage a persistent id
/// naming the file <c>&lt;archive&gt;/data/&lt;key&gt;</c> that holds its raw little-endian bytes.
/// <para>
/// Each tensor is rebuilt from its storage with its own offset, shape and strides, then copied contiguous. That
/// is what official checkpoints need: their EA <c>linear_1.weight</c> is a permuted (non-contiguous) tensor, and in
/// CPU-saved files even a view sharing the storage of <c>linear_0.weight</c>.
/// </para>
/// </summary>
public static class PyTorchPth
{
    /// <summary>The state dict in a <c>.pth</c>: the saved dict itself, or its <c>model_state_dict</c>/<c>state_dict</c>
    /// entry (the official <c>latest.pth</c>); a DataParallel <c>module.</c> prefix is removed.</summary>
    public static Dictionary<string, Tensor> LoadStateDict(string path)
    {
        var root = Load(path);
        if (root is not IDictionary dict)
            throw new InvalidDataException($"{path}: holds a {root?.GetType().Name ?? "null"}, not a state dict");
        foreach (var key in new[] { "model_state_dict", "state_dict", "model" })
            if (dict.Contains(key) && dict[key] is IDictionary inner && inner.Values.OfType<Tensor>().Any())
            {
                dict = inner;
                break;
            }
        var result = new Dictionary<string, Tensor>();
        foreach (var e in Entries(dict))
        {
            if (e.Value is Tensor t) result[(string)e.Key] = t;
        }
        if (result.Count == 0) throw new InvalidDataException($"{path}: no tensors found (not a state dict or a checkpoint holding one)");
        if (result.Keys.All(k => k.StartsWith("module.", StringComparison.Ordinal)))
            result = result.ToDictionary(kv => kv.Key["module.".Length..], kv => kv.Value);
        return result;
    }

    /// <summary>Unpickles the object saved in a <c>.pth</c>; tensors come back as contiguous CPU tensors.</summary>
    public static object? Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        using var fs = File.OpenRead(path);
        var magic = new byte[4];
        int n = fs.Read(magic, 0, 4);
        fs.Position = 0;
        if (n < 4 || magic[0] != (byte)'P' || magic[1] != (byte)'K')
        {
            if (n >= 2 && magic[0] == 0x80)
                throw new InvalidDataException($"{path}: legacy (PyTorch < 1.6) torch.save format; re-save it with a current PyTorch");
            throw new InvalidDataException($"{path}: not a PyTorch checkpoint (not a zip archive)");
        }
        ZipArchive zip;
        try { zip = new ZipArchive(fs, ZipArchiveMode.Read); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: damaged zip archive ({e.Message})"); }
        using (zip)
        {
            var pkl = zip.Entries.FirstOrDefault(e => e.FullName == "data.pkl" || e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal))
                      ?? throw new InvalidDataException($"{path}: no data.pkl inside; not a torch.save archive");
            string prefix = pkl.FullName[..^"data.pkl".Length];
            using var ms = new MemoryStream();
            using (var s = pkl.Open()) s.CopyTo(ms);
            EnsureConstructorsRegistered();
            using var unpickler = new StorageUnpickler(zip, prefix, path);
            try
            {
                return unpickler.loads(ms.ToArray());
            }
            catch (Exception e) when (e is PickleException or InvalidCastException or IndexOutOfRangeException)
            {
                throw new InvalidDataException($"{path}: cannot read the pickled object ({e.Message})");
            }
            finally
            {
                unpickler.ReleaseStorages();
            }
        }
    }

    private static int registered;

    private static void EnsureConstructorsRegistered()
    {
        if (Interlocked.Exchange(ref registered, 1) == 1) return;
        foreach (var (name, dtype, size) in StorageTypes)
            Unpickler.registerConstructor("torch", name, new StorageType(name, dtype, size));
        Unpickler.registerConstructor("torch._utils", "_rebuild_tensor_v2", new RebuildTensor());
        Unpickler.registerConstructor("torch._utils", "_rebuild_parameter", new RebuildParameter());
        Unpickler.registerConstructor("collections", "OrderedDict", new OrderedDictConstructor());
    }

    private static readonly (string Name, ScalarType Dtype, int Size)[] StorageTypes =
    {
        ("FloatStorage", ScalarType.Float32, 4), ("DoubleStorage", ScalarType.Float64, 8),
        ("HalfStorage", ScalarType.Float16, 2), ("BFloat16Storage", ScalarType.BFloat16, 2),
        ("LongStorage", ScalarType.Int64, 8), ("IntStorage", ScalarType.Int32, 4),
        ("ShortStorage", ScalarType.Int16, 2), ("CharStorage", ScalarType.Int8, 1),
        ("ByteStorage", ScalarType.Byte, 1), ("BoolStorage", ScalarType.Bool, 1),
    };

    private sealed class StorageType(string name, ScalarType dtype, int elementSize) : IObjectConstructor
    {
        public string Name { get; } = name;
        public ScalarType Dtype { get; } = dtype;
        public int ElementSize { get; } = elementSize;
        public object construct(object[] args) => throw new PickleException($"torch.{Name} cannot be constructed directly");
    }

    /// <summary>A storage: its raw bytes read once, shared by every tensor that views it.</summary>
    private sealed class Storage(StorageType type, byte[] bytes)
    {
        public StorageType Type { get; } = type;
        public byte[] Bytes { get; } = bytes;
        private Tensor? flat;

        public Tensor Flat()
        {
            if (flat is not null) return flat;
            long count = Bytes.Length / Type.ElementSize;
            var t = TensorBytes.FromBytes(Bytes.AsSpan(0, (int)(count * Type.ElementSize)), Type.Dtype, new[] { count });
            flat = t.DetachFromDisposeScope();
            return flat;
        }

        public void Release() { flat?.Dispose(); flat = null; }
    }

    private sealed class StorageUnpickler(ZipArchive zip, string prefix, string path) : Unpickler
    {
        private readonly Dictionary<string, Storage> storages = new();

        protected override object persistentLoad(object pid)
        {
            if (pid is not object[] t || t.Length < 5 || t[0] as string != "storage")
                throw new InvalidDataException($"{path}: unsupported persistent id in data.pkl");
            if (t[1] is not StorageType type)
                throw new InvalidDataException($"{path}: unsupported storage type {t[1]}");
            var key = Convert.ToString(t[2], System.Globalization.CultureInfo.InvariantCulture)!;
            if (storages.TryGetValue(key, out var s)) return s;
            var entry = zip.GetEntry(prefix + "data/" + key)
                        ?? throw new InvalidDataException($"{path}: storage data/{key} is missing from the archive");
            long numel = Convert.ToInt64(t[4]);
            var bytes = new byte[entry.Length];
            using (var es = entry.Open())
            {
                int read = 0;
                while (read < bytes.Length)
                {
                    int r = es.Read(bytes, read, bytes.Length - read);
                    if (r == 0) break;
                    read += r;
                }
                if (read != bytes.Length) throw new InvalidDataException($"{path}: storage data/{key} is truncated");
            }
            if (bytes.Length < numel * type.ElementSize)
                throw new InvalidDataException($"{path}: storage data/{key} holds {bytes.Length} bytes, {numel * type.ElementSize} expected");
            s = new Storage(type, bytes);
            storages[key] = s;
            return s;
        }

        /// <summary>Frees the flat storage tensors; the rebuilt tensors are independent copies.</summary>
        public void ReleaseStorages()
        {
            foreach (var s in storages.Values) s.Release();
            storages.Clear();
        }
    }

    /// <summary><c>_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])</c>.</summary>
    private sealed class RebuildTensor : IObjectConstructor
    {
        public object construct(object[] args)
        {
            var storage = (Storage)args[0];
            long offset = Convert.ToInt64(args[1]);
            long[] size = ((object[])args[2]).Select(Convert.ToInt64).ToArray();
            long[] stride = ((object[])args[3]).Select(Convert.ToInt64).ToArray();
            long total = storage.Bytes.Length / storage.Type.ElementSize;
            // The furthest element this view touches must lie inside the storage.
            long last = offset + size.Zip(stride, (n, s) => n == 0 ? 0 : (n - 1) * s).Sum();
            if (size.Any(n => n == 0)) last = offset - 1;
            if (offset < 0 || last >= total)
                throw new InvalidDataException($"tensor view (offset {offset}, size [{string.Join(",", size)}], stride [{string.Join(",", stride)}]) exceeds its storage of {total} elements");
            using var scope = NewDisposeScope();
            var view = storage.Flat().as_strided(size, stride, offset);
            return view.contiguous().clone().DetachFromDisposeScope();
        }
    }

    private sealed class RebuildParameter : IObjectConstructor
    {
        public object construct(object[] args) => args[0];
    }

    /// <summary>
    /// <c>collections.OrderedDict</c>. A <see cref="Hashtable"/> (the unpickler's SETITEMS requires one) that also
    /// remembers insertion order in <see cref="OrderedKeys"/>; the <c>_metadata</c> attribute is ignored.
    /// </summary>
    public sealed class OrderedDict : Hashtable
    {
        private readonly List<object> order = new();

        /// <summary>The value of <paramref name="key"/>.</summary>
        public override object? this[object key]
        {
            get => base[key];
            set { if (!ContainsKey(key)) order.Add(key); base[key] = value; }
        }

        /// <summary>Adds a key, keeping the order.</summary>
        public override void Add(object key, object? value) { base.Add(key, value); order.Add(key); }

        /// <summary>Removes a key.</summary>
        public override void Remove(object key) { base.Remove(key); order.Remove(key); }

        /// <summary>Removes every key.</summary>
        public override void Clear() { base.Clear(); order.Clear(); }

        /// <summary>Keys in the order they were saved (the state_dict order).</summary>
        public IReadOnlyList<object> OrderedKeys => filledByUnpickler ? SavedOrder(order) : order;

        private readonly bool filledByUnpickler;

        /// <summary>An empty dictionary (the unpickler fills it).</summary>
        public OrderedDict() { }

        private OrderedDict(bool filledByUnpickler) => this.filledByUnpickler = filledByUnpickler;

        /// <summary>An empty dict that Razorvine's SETITEMS will fill (see <see cref="SavedOrder"/>).</summary>
        internal static OrderedDict ForUnpickler() => new(true);

        // Python's pickler writes a dict's items in batches of 1000 (MARK ... SETITEMS), and Razorvine's SETITEMS pops
        // each batch off the stack, so it inserts every batch back to front (a lone last item, SETITEM, is its own batch).
        internal const int PicklerBatchSize = 1000;

        private static List<object> SavedOrder(List<object> inserted)
        {
            var saved = new List<object>(inserted.Count);
            for (int start = 0; start < inserted.Count; start += PicklerBatchSize)
            {
                int n = Math.Min(PicklerBatchSize, inserted.Count - start);
                for (int i = start + n - 1; i >= start; i--) saved.Add(inserted[i]);
            }
            return saved;
        }

        // Called by the unpickler's BUILD opcode with the instance attributes (state dicts carry _metadata).
        /// <summary>Pickle's state call: nothing to restore.</summary>
        public void __setstate__(object state) { }
    }

    /// <summary>Entries in insertion order for an <see cref="OrderedDict"/>, enumeration order otherwise.</summary>
    private static IEnumerable<DictionaryEntry> Entries(IDictionary dict)
    {
        if (dict is OrderedDict od) { foreach (var k in od.OrderedKeys) yield return new DictionaryEntry(k, od[k]); }
        else foreach (DictionaryEntry e in dict) yield return e;
    }

    private sealed class OrderedDictConstructor : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length == 0 || args[0] is not IEnumerable items) return OrderedDict.ForUnpickler();
            var d = new OrderedDict();
            foreach (var item in items)
                if (item is object[] { Length: 2 } kv) d[kv[0]] = kv[1];
            return d;
        }
    }

    // ------------------------------------------------------------------------------------------------ writer

    /// <summary>
    /// Writes a state dict that <c>torch.load</c> reads (also with <c>weights_only=True</c>): an OrderedDict of
    /// contiguous tensors, each with its own storage. Written to a temporary file and renamed into place.
    /// </summary>
    public static void SaveStateDict(string path, IEnumerable<(string Name, Tensor Value)> tensors)
    {
        var d = new OrderedDict();
        foreach (var (name, t) in tensors) d[name] = t;
        Save(path, d);
    }

    /// <summary>
    /// Writes <paramref name="root"/> in torch.save's zip format. Values may be tensors, <see cref="OrderedDict"/>
    /// (written as <c>collections.OrderedDict</c>), other dictionaries with string keys (plain dicts), lists,
    /// strings, integers, doubles, booleans and null.
    /// </summary>
    public static void Save(string path, object? root)
    {
        var storages = new List<Tensor>();
        var pickle = new PickleWriter();
        pickle.Proto(2);
        WriteValue(pickle, root, storages);
        pickle.Stop();

        string archive = Path.GetFileNameWithoutExtension(path);
        if (string.IsNullOrEmpty(archive) || archive.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '_')) archive = "archive";
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            void Add(string name, byte[] data)
            {
                var e = zip.CreateEntry($"{archive}/{name}", CompressionLevel.NoCompression);
                using var es = e.Open();
                es.Write(data);
            }
            Add("data.pkl", pickle.ToArray());
            Add("byteorder", Encoding.ASCII.GetBytes("little"));
            for (int i = 0; i < storages.Count; i++) Add($"data/{i}", TensorBytes.Of(storages[i]));
            Add("version", Encoding.ASCII.GetBytes("3\n"));
        });
        foreach (var t in storages) t.Dispose();
    }

    private static void WriteValue(PickleWriter pickle, object? value, List<Tensor> storages)
    {
        switch (value)
        {
            case null: pickle.None(); break;
            case bool b: if (b) pickle.True(); else pickle.False(); break;
            case string str: pickle.Unicode(str); break;
            case int or long or short or byte: pickle.Int(Convert.ToInt64(value)); break;
            case float or double: pickle.Float(Convert.ToDouble(value)); break;
            case Tensor t: WriteTensor(pickle, t, storages); break;
            case IDictionary dict:
                if (dict is OrderedDict) { pickle.Global("collections", "OrderedDict"); pickle.EmptyTuple(); pickle.Reduce(); }
                else pickle.EmptyDict();
                // Batched as Python's pickler does, so that readers (ours included) see the saved order.
                foreach (var batch in Entries(dict).Chunk(OrderedDict.PicklerBatchSize))
                {
                    pickle.Mark();
                    foreach (var e in batch) { WriteValue(pickle, e.Key, storages); WriteValue(pickle, e.Value, storages); }
                    pickle.SetItems();
                }
                break;
            case IList list:
                pickle.EmptyList();
                if (list.Count > 0)
                {
                    pickle.Mark();
                    foreach (var item in list) WriteValue(pickle, item, storages);
                    pickle.Appends();
                }
                break;
            default: throw new NotSupportedException($"cannot pickle a {value.GetType().Name}");
        }
    }

    private static void WriteTensor(PickleWriter pickle, Tensor tensor, List<Tensor> storages)
    {
        var t = tensor.detach().cpu().contiguous().DetachFromDisposeScope();
        int key = storages.Count;
        storages.Add(t);
        var (storageName, _) = StorageNameOf(t.dtype);
        pickle.Global("torch._utils", "_rebuild_tensor_v2");
        pickle.Mark();
        //   persistent id ('storage', torch.XStorage, key, 'cpu', numel)
        pickle.Mark();
        pickle.Unicode("storage"); pickle.Global("torch", storageName); pickle.Unicode(key.ToString()); pickle.Unicode("cpu"); pickle.Int(t.numel());
        pickle.Tuple(); pickle.BinPersId();
        pickle.Int(0);
        pickle.Mark(); foreach (var s in t.shape) pickle.Int(s); pickle.Tuple();
        pickle.Mark(); foreach (var s in t.stride()) pickle.Int(s); pickle.Tuple();
        pickle.False();
        pickle.Global("collections", "OrderedDict"); pickle.EmptyTuple(); pickle.Reduce();
        pickle.Tuple();
        pickle.Reduce();
    }

    private static (string, int) StorageNameOf(ScalarType t) => t switch
    {
        ScalarType.Float32 => ("FloatStorage", 4),
        ScalarType.Float64 => ("DoubleStorage", 8),
        ScalarType.Float16 => ("HalfStorage", 2),
        ScalarType.BFloat16 => ("BFloat16Storage", 2),
        ScalarType.Int64 => ("LongStorage", 8),
        ScalarType.Int32 => ("IntStorage", 4),
        ScalarType.Int16 => ("ShortStorage", 2),
        ScalarType.Int8 => ("CharStorage", 1),
        ScalarType.Byte => ("ByteStorage", 1),
        ScalarType.Bool => ("BoolStorage", 1),
        _ => throw new NotSupportedException($"cannot save tensors of type {t}"),
    };

    /// <summary>The few pickle (protocol 2) opcodes a state dict needs.</summary>
    private sealed class PickleWriter
    {
        private readonly MemoryStream s = new();
        public void Proto(byte v) { s.WriteByte(0x80); s.WriteByte(v); }
        public void Global(string module, string name) { s.WriteByte((byte)'c'); s.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n")); }
        public void EmptyTuple() => s.WriteByte((byte)')');
        public void Reduce() => s.WriteByte((byte)'R');
        public void Mark() => s.WriteByte((byte)'(');
        public void Tuple() => s.WriteByte((byte)'t');
        public void SetItems() => s.WriteByte((byte)'u');
        public void BinPersId() => s.WriteByte((byte)'Q');
        public void False() => s.WriteByte(0x89);
        public void True() => s.WriteByte(0x88);
        public void None() => s.WriteByte((byte)'N');
        public void EmptyDict() => s.WriteByte((byte)'}');
        public void EmptyList() => s.WriteByte((byte)']');
        public void Appends() => s.WriteByte((byte)'e');
        public void Float(double v)
        {
            var b = BitConverter.GetBytes(v);
            if (BitConverter.IsLittleEndian) Array.Reverse(b); // BINFLOAT is big-endian
            s.WriteByte((byte)'G'); s.Write(b);
        }
        public void Stop() => s.WriteByte((byte)'.');
        public void Unicode(string v)
        {
            var b = Encoding.UTF8.GetBytes(v);
            s.WriteByte((byte)'X'); s.Write(BitConverter.GetBytes((uint)b.Length)); s.Write(b);
        }
        public void Int(long v)
        {
            if (v >= 0 && v < 256) { s.WriteByte((byte)'K'); s.WriteByte((byte)v); }
            else if (v >= int.MinValue && v <= int.MaxValue) { s.WriteByte((byte)'J'); s.Write(BitConverter.GetBytes((int)v)); }
            else { s.WriteByte(0x8a); s.WriteByte(8); s.Write(BitConverter.GetBytes(v)); } // LONG1
        }
        public byte[] ToArray() => s.ToArray();
    }
}
