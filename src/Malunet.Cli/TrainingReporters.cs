using Malunet.Training;
using Spectre.Console;

namespace Malunet.Cli;

/// <summary>One plain line per epoch (and per phase), for logs and pipes.</summary>
public sealed class PlainReporter : ITrainingReporter
{
    private string? lastPhase;
    public void Info(string line) => Console.WriteLine(line);
    public void Warn(string line) => Console.Error.WriteLine($"warning: {line}");
    public void Phase(string name, int done, int total)
    {
        // Progress goes to stderr, so stdout carries only results (e.g. evaluate --json).
        if (done == total && lastPhase != name + total) { Console.Error.WriteLine($"{name}: {total} images"); lastPhase = name + total; }
    }
    public void EpochStarted(int epoch, int epochs, int batches, double lr) { }
    public void BatchDone(int epoch, int batch, int batches, double meanLoss, double imagesPerSecond) { }
    public void EpochDone(EpochMetrics m, bool improved) =>
        Console.WriteLine($"epoch {m.Epoch + 1}: train_loss {m.TrainLoss:F4} val_loss {m.ValLoss:F4} val_miou {m.ValMIoU:F4} " +
                          $"val_dsc {m.ValDsc:F4} lr {m.Lr:E2} {m.Seconds:F1} s {m.ImagesPerSecond:F1} img/s peak {m.PeakRssMb:F0} MB{(improved ? "  *best" : "")}");
}

/// <summary>A progress bar per epoch with loss, images/s and time left (Spectre.Console), for terminals.</summary>
public sealed class ProgressReporter(ProgressContext ctx) : ITrainingReporter
{
    private ProgressTask? epochTask;
    private ProgressTask? phaseTask;
    private string? phaseName;

    public void Info(string line) => AnsiConsole.MarkupLine(Markup.Escape(line));
    public void Warn(string line) => AnsiConsole.MarkupLine($"[yellow]warning:[/] {Markup.Escape(line)}");

    public void Phase(string name, int done, int total)
    {
        if (phaseTask == null || phaseName != name)
        {
            phaseTask?.StopTask();
            phaseName = name;
            phaseTask = ctx.AddTask(name, maxValue: total);
        }
        phaseTask.Value = done;
        if (done >= total) { phaseTask.StopTask(); phaseTask = null; phaseName = null; }
    }

    public void EpochStarted(int epoch, int epochs, int batches, double lr)
    {
        epochTask = ctx.AddTask($"epoch {epoch + 1}/{epochs}", maxValue: batches);
    }

    public void BatchDone(int epoch, int batch, int batches, double meanLoss, double imagesPerSecond)
    {
        if (epochTask == null) return;
        epochTask.Value = batch;
        epochTask.Description = $"epoch {epoch + 1} loss {meanLoss:F4} {imagesPerSecond:F0} img/s";
    }

    public void EpochDone(EpochMetrics m, bool improved)
    {
        epochTask?.StopTask();
        AnsiConsole.MarkupLine(Markup.Escape(
            $"epoch {m.Epoch + 1}: train_loss {m.TrainLoss:F4} val_loss {m.ValLoss:F4} val_miou {m.ValMIoU:F4} val_dsc {m.ValDsc:F4} " +
            $"lr {m.Lr:E2} {m.Seconds:F1} s {m.ImagesPerSecond:F1} img/s peak {m.PeakRssMb:F0} MB") + (improved ? " [green]best[/]" : ""));
    }

    /// <summary>Runs <paramref name="work"/> with a live progress display when stdout is a terminal, plain lines otherwise.</summary>
    public static T Run<T>(Func<ITrainingReporter, T> work)
    {
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            return work(new PlainReporter());
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => { result = work(new ProgressReporter(ctx)); });
        return result;
    }
}
