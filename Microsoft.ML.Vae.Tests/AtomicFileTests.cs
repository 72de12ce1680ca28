using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>Saves go through a temporary file: what they leave behind, and names they accept.</summary>
[TestClass]
public sealed class AtomicFileTests
{
    private static string NewFolder()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"vae-atomic-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        return folder;
    }

    private static void WriteText(string path, string text) => AtomicFile.Write(path, "test file", stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(text)));

    [TestMethod]
    public void TheNextSaveRemovesWhatAKilledSaveLeftButNotARunningSavesFile()
    {
        string folder = NewFolder();
        try
        {
            string path = Path.Combine(folder, "model.vae");
            string prefix = AtomicFile.TemporaryPrefix(path);
            // A killed save leaves its temporary file, closed; a save still running holds its own open.
            string killed = Path.Combine(folder, $"{prefix}000000000001.vae-tmp"), running = Path.Combine(folder, $"{prefix}000000000002.vae-tmp");
            File.WriteAllBytes(killed, new byte[1000]);
            using (var held = new FileStream(running, FileMode.CreateNew, FileAccess.Write, FileShare.Delete))
            {
                string otherTarget = Path.Combine(folder, $"{AtomicFile.TemporaryPrefix(Path.Combine(folder, "other.vae"))}000000000003.vae-tmp");
                File.WriteAllBytes(otherTarget, [1]);
                WriteText(path, "saved");
                Assert.IsFalse(File.Exists(killed), "the killed save's temporary file remains");
                Assert.IsTrue(File.Exists(running), "a running save's temporary file was removed");
                Assert.IsTrue(File.Exists(otherTarget), "another target's temporary file was removed");
            }
            Assert.AreEqual("saved", File.ReadAllText(path));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [TestMethod]
    public void LongestLegalFileNameSaves()
    {
        string folder = NewFolder();
        try
        {
            string path = Path.Combine(folder, new string('m', 251) + ".vae"); // 255 bytes, the usual file-name limit
            WriteText(path, "long");
            Assert.AreEqual("long", File.ReadAllText(path));
            Assert.AreEqual(1, Directory.GetFiles(folder).Length, "temporary files left behind");
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [TestMethod]
    public void ASecondSaveReplacesTheFirstAndBadTargetsAreNamed()
    {
        string folder = NewFolder();
        try
        {
            string path = Path.Combine(folder, "twice.vae");
            WriteText(path, "first");
            WriteText(path, "second");
            Assert.AreEqual("second", File.ReadAllText(path));
            StringAssert.Contains(Assert.ThrowsExactly<IOException>(() => WriteText(folder, "x")).Message, "that is a folder");
            StringAssert.Contains(Assert.ThrowsExactly<DirectoryNotFoundException>(() => WriteText(Path.Combine(folder, "no", "f.vae"), "x")).Message, "does not exist");
            Assert.ThrowsExactly<ArgumentException>(() => WriteText("", "x"));
            CollectionAssert.AreEqual(new[] { "twice.vae" }, Directory.GetFiles(folder).Select(Path.GetFileName).ToArray());
        }
        finally { Directory.Delete(folder, recursive: true); }
    }
}
