using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>
/// Receives named intermediate tensors during a traced forward pass (golden tests, debugging). The tensor belongs
/// to the model's inner dispose scope: a recorder that keeps it must clone it and detach the clone from dispose
/// scopes (<c>t.detach().clone().DetachFromDisposeScope()</c>).
/// </summary>
public delegate void ActivationRecorder(string name, Tensor value);
