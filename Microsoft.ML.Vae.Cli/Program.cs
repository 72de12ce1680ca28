using System.CommandLine;
using Microsoft.ML.Vae.Cli;

// vae: trains a VAE/IWAE on Fashion-MNIST and reports the test log-likelihood; see README.md.
var command = FashionMnistCommand.Create();
command.AddCommand(ScoreCommand.Create());
return await command.InvokeAsync(args);
