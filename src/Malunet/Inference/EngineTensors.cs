using static TorchSharp.torch;

namespace Malunet.Inference;

/// <summary>Any engine on libtorch tensors: the batch is copied to managed memory and the probabilities back.</summary>
public static class EngineTensors
{
    /// <summary>The N x K x H x W probabilities of an N x C x H x W batch, as a CPU float32 tensor.</summary>
    public static Tensor Run(this IInferenceEngine engine, Tensor batch)
    {
        if (engine is TorchEngine torchEngine) return torchEngine.Run(batch);
        using var scope = NewDisposeScope();
        var x = batch.to(float32).cpu().contiguous().data<float>().ToArray();
        var shape = batch.shape;
        var y = new float[shape[0] * engine.Classes * shape[2] * shape[3]];
        var outShape = engine.Run(x, shape, y);
        return tensor(y, outShape).MoveToOuterDisposeScope();
    }
}
