using System.CommandLine.Invocation;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Vae.Cli;

/// <summary>
/// How every command reports a failure: one line on stderr (coloured only on a terminal), the library's option names
/// replaced by the command's, no stack trace, and a non-zero exit code (2 for a user error, 1 for a bug, 130 when cancelled).
/// </summary>
internal static class CommandErrors
{
    public static void Run(InvocationContext context, IReadOnlyDictionary<string, string> optionNames, Func<int> run)
    {
        try { context.ExitCode = run(); }
        catch (Exception e) { context.ExitCode = Report(e, optionNames); }
    }

    private static int Report(Exception e, IReadOnlyDictionary<string, string> optionNames)
    {
        if (e is OperationCanceledException)
        {
            WriteError("cancelled; nothing was saved.");
            return 130;
        }
        bool userError = e is ArgumentException or IOException or UnauthorizedAccessException or InvalidDataException or FormatException
            or TrainingDivergedException or NotSupportedException or DllNotFoundException or OutOfMemoryException;
        string message = userError ? RenameOptions(MessageOf(e), optionNames)
            : $"unexpected {e.GetType().Name}: {MessageOf(e)} Please report this with the command line that caused it.";
        WriteError(message);
        return userError ? 2 : 1;
    }

    /// <summary>The message without ArgumentException's " (Parameter 'x')" suffix, on one line.</summary>
    private static string MessageOf(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException { ParamName: { } name } && message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal))
            message = message[..^$" (Parameter '{name}')".Length];
        return string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    /// <summary>Library messages name properties (SampleCount); the user typed options (--k).</summary>
    private static string RenameOptions(string message, IReadOnlyDictionary<string, string> optionNames) =>
        optionNames.Count == 0 ? message
            : Regex.Replace(message, $@"\b({string.Join('|', optionNames.Keys)})\b", m => optionNames[m.Value]);

    private static void WriteError(string message)
    {
        bool colour = !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;
        Console.Error.WriteLine(colour ? $"\u001b[31merror:\u001b[0m {message}" : $"error: {message}");
    }
}
