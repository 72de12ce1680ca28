using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Anomaly;
using Spectre.Console;

namespace Microsoft.ML.Vae.Samples;

/// <summary>
/// Spectre.Console progress bars fed by the library's <see cref="IProgress{T}"/> reports (the library itself never
/// writes to the console).
/// </summary>
internal static class ProgressBars
{
    public static T Run<T>(Func<ProgressContext, T> work) =>
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(work);

    /// <summary>A bar over all epochs' batches; its label shows the running bound.</summary>
    public static IProgress<TrainingProgress> Training(ProgressContext context, string name)
    {
        var task = context.AddTask(name, autoStart: true, maxValue: 1);
        return new Reporter<TrainingProgress>(p =>
        {
            task.MaxValue = p.Epochs * p.BatchesPerEpoch;
            task.Value = (p.Epoch - 1) * p.BatchesPerEpoch + p.Batch;
            task.Description = $"{name}: epoch {p.Epoch}/{p.Epochs}, bound {p.Bound:F1}" + (p.ValidationBound is { } v ? $" (validation {v:F1})" : "");
        });
    }

    /// <summary>A bar over rows processed (scoring, embedding).</summary>
    public static IProgress<int> Rows(ProgressContext context, string name, int rows)
    {
        var task = context.AddTask(name, autoStart: true, maxValue: Math.Max(1, rows));
        return new Reporter<int>(done => task.Value = done);
    }

    /// <summary>One bar per stage of fitting an anomaly detector (the training stages once per model of an ensemble).</summary>
    public static IProgress<AnomalyProgress> Detector(ProgressContext context)
    {
        var bars = new Dictionary<(AnomalyStage, int), object>();
        return new Reporter<AnomalyProgress>(p =>
        {
            var key = (p.Stage, p.Stage == AnomalyStage.Calibrating ? 0 : p.Model);
            if (!bars.TryGetValue(key, out var bar))
            {
                string model = p.ModelCount > 1 ? $" {p.Model + 1} of {p.ModelCount}" : "";
                bar = p.Stage switch
                {
                    AnomalyStage.TrainingModel => Training(context, $"Training the VAE{model}"),
                    AnomalyStage.TrainingBackground => Training(context, $"Training the background model{model}"),
                    _ => Rows(context, "Calibrating the threshold", p.Rows),
                };
                bars[key] = bar;
            }
            if (p.Training is { } training) ((IProgress<TrainingProgress>)bar).Report(training);
            else ((IProgress<int>)bar).Report(p.RowsDone);
        });
    }

    private sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        private readonly Lock _gate = new();

        public void Report(T value)
        {
            lock (_gate) report(value);
        }
    }
}
