using Malunet.Interop;
using Malunet.Models;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Malunet.Inference;

/// <summary>Runs a segmentation network on a preprocessed N x C x H x W CPU batch; returns the probabilities on the CPU.</summary>
public interface IInferenceEngine : IDisposable
{
    string Name { get; }

    /// <summary>The square input size the network runs at.</summary>
    int InputSize { get; }

    /// <summary>Output channels: 1 for the paper's lesion probability, K &gt;= 2 for softmax class probabilities.</summary>
    int Classes => 1;

    Tensor Run(Tensor batch);
}

/// <summary>The TorchSharp network itself (eval mode, no gradients).</summary>
public sealed class TorchEngine : IInferenceEngine
{
    private readonly SegmentationModel model;
    private readonly Device device;
    public TorchEngine(SegmentationModel model, Device device) { this.model = model; this.device = device; model.to(device); model.eval(); }
    public string Name => "torch";
    public int InputSize => model.InputSize;
    public int Classes => model.Options.NumClasses;
    public Tensor Run(Tensor batch)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return model.call(batch.to(device)).cpu().MoveToOuterDisposeScope();
    }
    public void Dispose() { }
}

/// <summary>An exported ONNX model run by ONNX Runtime (CPU execution provider).</summary>
public sealed class OnnxEngine : IInferenceEngine
{
    private readonly InferenceSession session;
    private readonly string input, output;
    private readonly RunOptions runOptions = new();

    public OnnxEngine(string path, int? threads = null)
        : this(File.Exists(path) ? path : throw new FileNotFoundException($"{path}: no such ONNX file"), o => new InferenceSession(path, o), threads) { }

    /// <summary>A session on a model held in memory (e.g. <see cref="OnnxExporter.ToBytes"/>); nothing touches the disk.</summary>
    public OnnxEngine(byte[] model, string name, int? threads = null)
        : this(name, o => new InferenceSession(model, o), threads) { }

    private OnnxEngine(string name, Func<SessionOptions, InferenceSession> open, int? threads)
    {
        // Extended, not "all": the layout optimisations of "all" (NCHWc convolutions, with reorders around every
        // GroupNorm) bring nothing to this small network and cost 150 ms more at session creation (236-260 against
        // 394-419 ms; 9.0-9.8 against 9.9-10.4 ms per image at batch 8 on 2 threads, BENCHMARKS.md).
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED };
        if (threads is { } t) options.IntraOpNumThreads = t;
        try { session = open(options); }
        catch (OnnxRuntimeException e) { throw new InvalidDataException($"{name}: not a loadable ONNX model ({e.Message.Split('\n')[0]})"); }
        input = session.InputMetadata.Keys.First();
        output = session.OutputMetadata.Keys.First();
        InputShape = session.InputMetadata[input].Dimensions;
        var outputShape = session.OutputMetadata[output].Dimensions;
        Classes = outputShape.Length == 4 && outputShape[1] > 0 ? outputShape[1] : 1;
    }

    public int Classes { get; }

    /// <summary>The model's input shape (-1 for the dynamic batch).</summary>
    public int[] InputShape { get; }
    public string Name => "onnx";

    /// <summary>The graph's fixed input height (our exports fix it to the size the weights were trained at).</summary>
    public int InputSize => InputShape.Length == 4 && InputShape[2] > 0 ? InputShape[2] : Models.SegmentationModel.DefaultInputSize;

    /// <summary>The model options recorded by our exporter, if any.</summary>
    public string? ModelOptionsJson => session.ModelMetadata.CustomMetadataMap.TryGetValue("model_options", out var v) ? v : null;

    /// <summary>
    /// Runs the session on the batch's own memory and copies the result once into a new tensor. No libtorch
    /// operator runs here on a float32 CPU batch: one would wake libtorch's OpenMP workers, whose spinning
    /// competes with ONNX Runtime's threads for the same cores.
    /// </summary>
    public Tensor Run(Tensor batch)
    {
        using var scope = NewDisposeScope();
        var c = batch.dtype == float32 && batch.device_type == DeviceType.CPU && batch.is_contiguous() ? batch : batch.to(float32).cpu().contiguous();
        var shape = c.shape;
        for (int i = 1; i < shape.Length && i < InputShape.Length; i++)
            if (InputShape[i] > 0 && InputShape[i] != shape[i])
                throw new ArgumentException($"the ONNX model takes [N, {string.Join(", ", InputShape.Skip(1))}] inputs, got [{string.Join(", ", shape)}]");
        var bytes = c.bytes;
        IDisposableReadOnlyCollection<OrtValue> outputs;
        unsafe
        {
            // The span lies in libtorch's native buffer, which does not move; ORT reads it in place.
            fixed (byte* data = bytes)
            {
                using var inputValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
                    shape, (IntPtr)data, bytes.Length);
                outputs = session.Run(runOptions, new[] { input }, new[] { inputValue }, new[] { output });
            }
        }
        using (outputs)
        {
            var result = outputs[0];
            var y = empty(result.GetTensorTypeAndShape().Shape, float32);
            result.GetTensorDataAsSpan<float>().CopyTo(Data.Preprocessing.FloatSpan(y));
            return y.MoveToOuterDisposeScope();
        }
    }

    public void Dispose() { runOptions.Dispose(); session.Dispose(); }
}
