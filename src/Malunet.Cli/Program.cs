using TorchSharp;
using static TorchSharp.torch;
void Show(string n, Tensor t) => Console.WriteLine($"{n}: mean {t.mean().item<float>():G4} std {(t.numel()>1? t.std().item<float>():0):G4} min {t.min().item<float>():G4} max {t.max().item<float>():G4}");
for (int i = 0; i < 2; i++) {
var gn = nn.GroupNorm(4, 64); Show("gn.w", gn.weight!); Show("gn.b", gn.bias!);
var c1 = nn.Conv1d(128, 16, 1); Show("c1.w", c1.weight!); Show("c1.b", c1.bias!);
var c2 = nn.Conv2d(16, 32, 3); Show("c2.w", c2.weight!); Show("c2.b", c2.bias!);
var l = nn.Linear(128, 16); Show("l.w", l.weight!); Show("l.b", l.bias!);
var ln = nn.LayerNorm(64); Show("ln.w", ln.weight!); Show("ln.b", ln.bias!);
var bn = nn.BatchNorm2d(64); Show("bn.w", bn.weight!); Show("bn.b", bn.bias!);
var t = empty(10000); nn.init.normal_(t, 0, 0.5); Show("normal", t);
}
