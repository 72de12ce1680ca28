using Google.Protobuf;
using Microsoft.ML.Vae.Onnx.Protos;

namespace Microsoft.ML.Vae.Onnx;

/// <summary>Rewrites the default threshold stored in an exported detector graph.</summary>
internal static class OnnxThreshold
{
    public static void Change(string path, double threshold, string thresholdName)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!double.IsFinite(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be a finite number.");
        if (!File.Exists(path)) throw new FileNotFoundException($"No ONNX file at '{Path.GetFullPath(path)}'.", path);
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)); }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"'{Path.GetFullPath(path)}' is not an ONNX model: {e.Message}", e); }
        var initializer = model.Graph?.Initializer.FirstOrDefault(t => t.Name == thresholdName && t.DataType == (int)TensorProto.Types.DataType.Double && t.Dims.Count == 0)
            ?? throw new ArgumentException($"'{Path.GetFullPath(path)}' has no scalar threshold named '{thresholdName}': pass the ThresholdName it was exported with (default \"Threshold\").", nameof(thresholdName));
        initializer.RawData = ByteString.CopyFrom(BitConverter.GetBytes(threshold));
        Model.AtomicFile.Write(path, "ONNX model", model.WriteTo);
    }
}
