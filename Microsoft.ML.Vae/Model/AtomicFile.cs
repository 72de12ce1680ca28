using System.Security.Cryptography;
using System.Text;

namespace Microsoft.ML.Vae.Model;

/// <summary>
/// Writes a file through a temporary file beside it, so a failed write leaves any earlier file untouched. The
/// temporary name is short (any legal target name works) and derived from the target's name, so the next save to the
/// same path removes what a killed save left behind.
/// </summary>
internal static class AtomicFile
{
    private const string TemporarySuffix = ".vae-tmp";

    public static void Write(string path, string what, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Cannot save the {what} to '{full}': the folder '{directory}' does not exist.");
        if (Directory.Exists(full))
            throw new IOException($"Cannot save the {what} to '{full}': that is a folder; give a file name.");
        string prefix = TemporaryPrefix(full);
        RemoveLeftovers(directory, prefix);
        string temporary = Path.Combine(directory, $"{prefix}{Guid.NewGuid().ToString("N")[..12]}{TemporarySuffix}");
        FileStream file;
        try { file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.Delete); }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"Cannot save the {what} to '{full}': no permission to write in the folder '{directory}'.", e);
        }
        try
        {
            using (file)
            {
                write(file);
                file.Flush(flushToDisk: true);
                // Moved while still open: the open handle marks the file as in use to another save's RemoveLeftovers.
                File.Move(temporary, full, overwrite: true);
            }
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>".xxxxxxxx." from a hash of the target's name: the temporary files of one target share it.</summary>
    internal static string TemporaryPrefix(string fullPath) =>
        $".{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFileName(fullPath))))[..8]}.";

    /// <summary>
    /// Deletes temporary files of earlier saves to this target that no process holds open: a running save keeps its
    /// file open (and locked against exclusive opens) until it has moved it, so only files of killed saves are removed.
    /// </summary>
    private static void RemoveLeftovers(string directory, string prefix)
    {
        foreach (string leftover in Directory.EnumerateFiles(directory, $"{prefix}*{TemporarySuffix}"))
        {
            try { new FileStream(leftover, FileMode.Open, FileAccess.Read, FileShare.None, 1, FileOptions.DeleteOnClose).Dispose(); }
            catch (IOException) { } // in use by a save still running, or already gone
            catch (UnauthorizedAccessException) { } // not ours to delete
        }
    }
}
