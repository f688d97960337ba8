using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Models;

/// <summary>Copies named tensors into a module's parameters and buffers, with one-line errors for mismatches.</summary>
public static class StateDict
{
    /// <summary>
    /// Loads <paramref name="weights"/> into <paramref name="module"/> by name. Every parameter must be present with
    /// the same shape; unexpected keys are an error too, so a checkpoint of another architecture is never half-loaded.
    /// Values are copied (and converted to the parameter's dtype and device). <paramref name="keepFresh"/> may accept
    /// a shape mismatch (key, shape in the file, shape in the module): that tensor keeps the module's values, and its
    /// key is returned.
    /// </summary>
    public static IReadOnlyList<string> Load(nn.Module module, IReadOnlyDictionary<string, Tensor> weights, string source = "checkpoint",
                                             Func<string, long[], long[], bool>? keepFresh = null)
    {
        var targets = module.state_dict();
        var missing = targets.Keys.Where(k => !weights.ContainsKey(k)).ToList();
        var unexpected = weights.Keys.Where(k => !targets.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            string Show(List<string> l) => l.Count == 0 ? "none" : string.Join(", ", l.Take(5)) + (l.Count > 5 ? $" (+{l.Count - 5} more)" : "");
            throw new IncompatibleWeightsException(
                $"{source} does not match the model: missing {missing.Count} key(s): {Show(missing)}; unexpected {unexpected.Count} key(s): {Show(unexpected)}. " +
                "Are the model options (--model, --c-list, --split-att, --bridge) those it was trained with?");
        }
        var fresh = new List<string>();
        foreach (var (k, target) in targets)
        {
            var src = weights[k];
            if (src.shape.SequenceEqual(target.shape)) continue;
            if (keepFresh != null && keepFresh(k, src.shape, target.shape)) { fresh.Add(k); continue; }
            throw new IncompatibleWeightsException(
                $"{source}: {k} has shape [{string.Join(", ", src.shape)}], the model expects [{string.Join(", ", target.shape)}]");
        }
        using var _ = torch.no_grad();
        foreach (var (k, target) in targets)
            if (!fresh.Contains(k)) target.copy_(weights[k]);
        return fresh;
    }

    /// <summary>
    /// The module's parameters and buffers as detached CPU tensors in PyTorch's state_dict order: module by module in
    /// registration order, each module's parameters before its buffers. (TorchSharp's state_dict lists all
    /// parameters first, so a network with BatchNorm would otherwise be saved in another order than PyTorch's.)
    /// </summary>
    public static List<(string Name, Tensor Value)> Export(nn.Module module)
    {
        var state = module.state_dict();
        var parameters = module.named_parameters().Select(p => p.name).ToHashSet();
        var moduleRank = new Dictionary<string, int>();
        void Walk(string prefix, nn.Module m)
        {
            moduleRank[prefix] = moduleRank.Count;
            foreach (var (name, child) in m.named_children()) Walk(prefix.Length == 0 ? name : $"{prefix}.{name}", child);
        }
        Walk("", module);
        int Rank(string key) => moduleRank[key.Contains('.') ? key[..key.LastIndexOf('.')] : ""];
        return state.Select((kv, i) => (kv, i))
            .OrderBy(x => Rank(x.kv.Key)).ThenBy(x => parameters.Contains(x.kv.Key) ? 0 : 1).ThenBy(x => x.i)
            .Select(x => (x.kv.Key, x.kv.Value.detach().cpu().contiguous())).ToList();
    }
}

/// <summary>Weights whose names or shapes do not fit the network they are loaded into.</summary>
public sealed class IncompatibleWeightsException(string message) : IOException(message);
