using System.CommandLine;
using Microsoft.ML.Vae.Cli;
using Spectre.Console;

// vae: trains a VAE/IWAE on Fashion-MNIST and reports the test log-likelihood; see README.md.
if (Console.IsOutputRedirected) // no colour codes or progress animation in a pipe or a log file
    AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        Out = new AnsiConsoleOutput(Console.Out),
    });
var command = FashionMnistCommand.Create();
command.AddCommand(ScoreCommand.Create());
command.AddCommand(ExportCommand.Create());
return await command.InvokeAsync(args);
