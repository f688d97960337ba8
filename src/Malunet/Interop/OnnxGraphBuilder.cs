using Google.Protobuf;
using Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Interop;

/// <summary>A block that can write itself as ONNX nodes (its file holds both its TorchSharp and its ONNX form).</summary>
public interface IOnnxExportable
{
    /// <summary>Appends the block's nodes reading <paramref name="input"/>; returns the name of its output.</summary>
    string ExportOnnx(OnnxGraphBuilder g, string input);
}

/// <summary>A block over several stages (the bridges): one output per input.</summary>
public interface IOnnxMultiExportable
{
    /// <summary>This module as ONNX nodes added to <paramref name="g"/>; returns the names of its outputs.</summary>
    string[] ExportOnnx(OnnxGraphBuilder g, string[] inputs);
}

/// <summary>
/// Builds an ONNX graph (opset 17) node by node, with the weights of TorchSharp modules as initializers. Only
/// standard operators are used, so the model runs in any ONNX runtime: GroupNorm is written out as
/// InstanceNormalization over a grouped view (ONNX's GroupNormalization arrived in opset 18 with per-group affine parameters), and the
/// exact GELU as 0.5·x·(1 + erf(x/√2)) (Gelu is opset 20).
/// </summary>
public sealed class OnnxGraphBuilder
{
    /// <summary>The ONNX opset the graphs use.</summary>
    public const int Opset = 17;
    private readonly GraphProto graph = new() { Name = "malunet" };
    private int counter;

    /// <summary>The graph being built.</summary>
    public GraphProto Graph => graph;

    /// <summary>The fixed input height and width (the batch stays dynamic); blocks whose weights depend on the
    /// spatial size (EGE-UNet's resized Hadamard weights) are evaluated for it at export time.</summary>
    public long InputHeight { get; init; } = 256;
    /// <summary>The input's width.</summary>
    public long InputWidth { get; init; } = 256;

    /// <summary>A name not used before, from <paramref name="hint"/>.</summary>
    public string Fresh(string hint) => $"{hint}_{counter++}";

    /// <summary>Adds a node with one output; returns its name.</summary>
    public string Node(string op, IEnumerable<string> inputs, params AttributeProto[] attributes) => Nodes(op, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs; returns their names.</summary>
    public string[] Nodes(string op, IEnumerable<string> inputs, int outputs, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = Fresh(op) };
        n.Input.AddRange(inputs);
        var outs = Enumerable.Range(0, outputs).Select(_ => Fresh(op.ToLowerInvariant())).ToArray();
        n.Output.AddRange(outs);
        n.Attribute.AddRange(attributes);
        graph.Node.Add(n);
        return outs;
    }

    /// <summary>An integer-list attribute.</summary>
    public static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }

    /// <summary>An integer attribute.</summary>
    public static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
    /// <summary>A float attribute.</summary>
    public static AttributeProto Float(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };
    /// <summary>A string attribute.</summary>
    public static AttributeProto String(string name, string v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(v) };

    /// <summary>A float32 initializer from a tensor (any device, any layout).</summary>
    public string Initializer(Tensor t, string hint)
    {
        using var c = t.detach().cpu().to(ScalarType.Float32).contiguous();
        var p = new TensorProto { Name = Fresh(hint), DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(c.bytes) };
        p.Dims.AddRange(c.shape);
        graph.Initializer.Add(p);
        return p.Name;
    }

    /// <summary>A float32 initialiser; returns its name.</summary>
    public string Floats(float[] values, long[] shape, string hint = "const")
    {
        var p = new TensorProto { Name = Fresh(hint), DataType = (int)TensorProto.Types.DataType.Float };
        p.FloatData.AddRange(values);
        p.Dims.AddRange(shape);
        graph.Initializer.Add(p);
        return p.Name;
    }

    /// <summary>A float32 scalar initialiser.</summary>
    public string Scalar(float v) => Floats(new[] { v }, Array.Empty<long>(), "scalar");

    /// <summary>An int64 vector initialiser (shapes, axes).</summary>
    public string Int64s(params long[] values)
    {
        var p = new TensorProto { Name = Fresh("shape"), DataType = (int)TensorProto.Types.DataType.Int64 };
        p.Int64Data.AddRange(values);
        p.Dims.Add(values.Length);
        graph.Initializer.Add(p);
        return p.Name;
    }

    // ---- layers

    /// <summary>A 2-D convolution node with <paramref name="m"/>'s weights.</summary>
    public string Conv(string x, Conv2d m)
    {
        var w = m.weight!;
        long k0 = w.shape[2], k1 = w.shape[3];
        long groups = m.in_channels / w.shape[1];
        var pad = m.padding ?? new long[] { 0, 0 };
        var inputs = new List<string> { x, Initializer(w, "conv_w") };
        if (m.bias is not null) inputs.Add(Initializer(m.bias, "conv_b"));
        return Node("Conv", inputs, Ints("kernel_shape", k0, k1), Ints("pads", pad[0], pad[1], pad[0], pad[1]),
                    Ints("dilations", m.dilation![0], m.dilation[1]), Ints("strides", m.stride![0], m.stride[1]), Int("group", groups));
    }

    /// <summary>A 1-D convolution node with <paramref name="m"/>'s weights.</summary>
    public string Conv1d(string x, Conv1d m)
    {
        var w = m.weight!;
        long groups = m.in_channels / w.shape[1];
        var pad = m.padding ?? new long[] { 0 };
        var inputs = new List<string> { x, Initializer(w, "conv1d_w") };
        if (m.bias is not null) inputs.Add(Initializer(m.bias, "conv1d_b"));
        return Node("Conv", inputs, Ints("kernel_shape", w.shape[2]), Ints("pads", pad[0], pad[0]),
                    Ints("dilations", m.dilation![0]), Ints("strides", m.stride![0]), Int("group", groups));
    }

    /// <summary>A transposed convolution without padding or output padding (the UNet's 2x2 stride-2 up-sampling).</summary>
    public string ConvTranspose(string x, ConvTranspose2d m)
    {
        var w = m.weight!;
        var inputs = new List<string> { x, Initializer(w, "convT_w") };
        if (m.bias is not null) inputs.Add(Initializer(m.bias, "convT_b"));
        return Node("ConvTranspose", inputs, Ints("kernel_shape", w.shape[2], w.shape[3]), Ints("strides", m.stride![0], m.stride[1]));
    }

    /// <summary>BatchNorm in inference form: the running statistics and the affine map.</summary>
    public string BatchNorm(string x, BatchNorm2d m) =>
        Node("BatchNormalization", new[] { x, Initializer(m.weight!, "bn_w"), Initializer(m.bias!, "bn_b"),
                                           Initializer(m.running_mean!, "bn_mean"), Initializer(m.running_var!, "bn_var") },
             Float("epsilon", (float)m.eps));

    /// <summary>A ReLU node.</summary>
    public string Relu(string x) => Node("Relu", new[] { x });

    /// <summary>nn.LayerNorm over the last axis.</summary>
    public string LayerNorm(string x, LayerNorm m) =>
        Node("LayerNormalization", new[] { x, Initializer(m.weight!, "ln_w"), Initializer(m.bias!, "ln_b") },
             Int("axis", -1), Float("epsilon", (float)m.eps));

    /// <summary>N x C x H x W map to N x (H·W) x C tokens.</summary>
    public string ToTokens(string map, long channels, long h, long w) =>
        Node("Transpose", new[] { Node("Reshape", new[] { map, Int64s(0, channels, h * w) }) }, Ints("perm", 0, 2, 1));

    /// <summary>N x (H·W) x C tokens to an N x C x H x W map.</summary>
    public string ToMap(string tokens, long channels, long h, long w) =>
        Node("Reshape", new[] { Node("Transpose", new[] { tokens }, Ints("perm", 0, 2, 1)), Int64s(0, channels, h, w) });

    /// <summary>Bilinear x2 with align_corners=False (PyTorch's default for F.interpolate).</summary>
    public string Upsample2xHalfPixel(string x) => Bilinear(x, 2, "half_pixel");

    /// <summary>Shifts an N x C x H x W map by <paramref name="shift"/> pixels along axis 2 or 3 (zero fill).</summary>
    public string ShiftZeroFill(string x, long axis, long shift, long size)
    {
        long pad = Math.Abs(shift);
        if (pad == 0) return x;
        var pads = new long[8];
        pads[axis] = pad; pads[4 + axis] = pad;
        var padded = Node("Pad", new[] { x, Int64s(pads) });
        // out[j] = x[j - shift] = padded[j - shift + pad]
        return Node("Slice", new[] { padded, Int64s(pad - shift), Int64s(pad - shift + size), Int64s(axis) });
    }

    /// <summary>Bilinear resize by an integer factor with align_corners=True.</summary>
    public string UpsampleAlignCorners(string x, int factor) => factor == 1 ? x : Bilinear(x, factor, "align_corners");

    private string Bilinear(string x, int factor, string coordinates) =>
        Node("Resize", new[] { x, "", Floats(new[] { 1f, 1f, factor, factor }, new long[] { 4 }, "scales") },
             String("mode", "linear"), String("coordinate_transformation_mode", coordinates));

    /// <summary>Linear on the last axis: MatMul with Wᵀ plus bias.</summary>
    public string Linear(string x, Linear m)
    {
        using var wt = m.weight!.t().contiguous();
        var y = Node("MatMul", new[] { x, Initializer(wt, "fc_wT") });
        return m.bias is null ? y : Node("Add", new[] { y, Initializer(m.bias, "fc_b") });
    }

    /// <summary>
    /// GroupNorm over N x C x H x W: normalise each of G channel groups, then the per-channel affine map. The groups
    /// are normalised by InstanceNormalization on the [N, G, C/G·H·W] view (unit scale, zero shift), which
    /// computes the same biased mean and variance in one fused kernel instead of seven elementwise and
    /// reduction nodes; the channel affine follows as Mul and Add.
    /// </summary>
    public string GroupNorm(string x, GroupNorm m)
    {
        var (normalised, gamma, beta) = GroupNormParts(x, m);
        return Node("Add", new[] { Node("Mul", new[] { normalised, gamma }), beta });
    }

    /// <summary>The normalised map (before the affine map) and the initializers of γ and β as C x 1 x 1.</summary>
    private (string Normalised, string Gamma, string Beta) GroupNormParts(string x, GroupNorm m)
    {
        // Groups, channels and epsilon come from the module itself, so any GroupNorm exports as it computes.
        long groups = m.num_groups, channels = m.weight!.shape[0];
        float eps = (float)m.eps;
        var grouped = Node("Reshape", new[] { x, Int64s(0, groups, -1) });
        var ones = Floats(Enumerable.Repeat(1f, (int)groups).ToArray(), new[] { groups }, "gn_unit_scale");
        var zeros = Floats(new float[groups], new[] { groups }, "gn_zero_shift");
        var normalised = Node("InstanceNormalization", new[] { grouped, ones, zeros }, Float("epsilon", eps));
        var back = Node("Reshape", new[] { normalised, Node("Shape", new[] { x }) });
        using var gamma = m.weight!.reshape(channels, 1, 1);
        using var beta = m.bias!.reshape(channels, 1, 1);
        return (back, Initializer(gamma, "gn_w"), Initializer(beta, "gn_b"));
    }

    /// <summary>
    /// 2x2 max-pooling of a GroupNorm's output, as the encoder computes it. With no negative scale the channel affine
    /// map is monotone, so it runs after the pooling on a quarter of the pixels: max(γ·n + β) = γ·max(n) + β holds
    /// exactly in floating point for γ ≥ 0, since rounding is monotone. A negative scale keeps the plain order.
    /// </summary>
    public string GroupNormMaxPool2x2(string x, GroupNorm m)
    {
        using var negative = m.weight!.lt(0).any();
        if (negative.item<bool>()) return MaxPool2x2(GroupNorm(x, m));
        var (normalised, gamma, beta) = GroupNormParts(x, m);
        return Node("Add", new[] { Node("Mul", new[] { MaxPool2x2(normalised), gamma }), beta });
    }

    /// <summary>Exact GELU: 0.5·x·(1 + erf(x/√2)).</summary>
    public string Gelu(string x)
    {
        var erf = Node("Erf", new[] { Node("Div", new[] { x, Scalar(MathF.Sqrt(2f)) }) });
        return Node("Mul", new[] { Node("Mul", new[] { x, Node("Add", new[] { erf, Scalar(1f) }) }), Scalar(0.5f) });
    }

    /// <summary>A sigmoid node.</summary>
    public string Sigmoid(string x) => Node("Sigmoid", new[] { x });
    /// <summary>A softmax node over <paramref name="axis"/>.</summary>
    public string Softmax(string x, long axis) => Node("Softmax", new[] { x }, Int("axis", axis));
    /// <summary>An addition node.</summary>
    public string Add(string a, string b) => Node("Add", new[] { a, b });
    /// <summary>A multiplication node.</summary>
    public string Mul(string a, string b) => Node("Mul", new[] { a, b });

    /// <summary>A 2x2 max pooling node, stride 2.</summary>
    public string MaxPool2x2(string x) => Node("MaxPool", new[] { x }, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2));

    /// <summary>Bilinear x2 with align_corners=True, as the official decoder's F.interpolate.</summary>
    public string Upsample2x(string x) => UpsampleAlignCorners(x, 2);

    /// <summary>Runs a module: an <see cref="IOnnxExportable"/>, a Sequential of those, or a supported primitive.</summary>
    public string Module(string x, TorchSharp.torch.nn.Module m) => m switch
    {
        IOnnxExportable e => e.ExportOnnx(this, x),
        Sequential s => s.children().Aggregate(x, (acc, child) => Module(acc, child)),
        Conv2d c => Conv(x, c),
        TorchSharp.Modules.Sigmoid => Sigmoid(x),
        GELU => Gelu(x),
        _ => throw new NotSupportedException($"ONNX export does not support {m.GetType().Name} yet"),
    };

    /// <summary>The finished model: the graph with its input (dynamic batch) and output, opset <see cref="Opset"/>.</summary>
    public ModelProto ToModel(string input, string output, long channels, long height, long width, string docString)
    {
        graph.Input.Add(ValueInfo(input, new object[] { "batch", channels, height, width }));
        graph.Output.Add(ValueInfo(output, new object[] { "batch", null!, height, width }));
        var model = new ModelProto { IrVersion = 8, ProducerName = "malunet", ProducerVersion = "1", Graph = graph, DocString = docString };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    private static ValueInfoProto ValueInfo(string name, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (d is string s) dim.DimParam = s;
            else if (d is long l) dim.DimValue = l;
            shape.Dim.Add(dim);
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
