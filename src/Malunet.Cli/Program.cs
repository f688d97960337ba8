using System.Reflection;
var asm = typeof(Razorvine.Pickle.Unpickler).Assembly;
foreach (var t in new[]{typeof(Razorvine.Pickle.Unpickler), typeof(Razorvine.Pickle.IObjectConstructor)})
foreach (var m in t.GetMethods(BindingFlags.Public|BindingFlags.NonPublic|BindingFlags.Instance|BindingFlags.Static|BindingFlags.DeclaredOnly))
  Console.WriteLine($"{t.Name}: {(m.IsVirtual?"virtual ":"")}{(m.IsFamily?"protected ":"")}{m.ReturnType.Name} {m.Name}({string.Join(",", m.GetParameters().Select(p=>p.ParameterType.Name+" "+p.Name))})");
