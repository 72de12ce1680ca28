// Consumption: the input/output classes and single-row scoring with the saved detector, like ML.NET Model Builder's
// generated <Model>.consumption.cs.
using CsvHelper.Configuration.Attributes;
using Microsoft.ML.Vae.Anomaly;

namespace TabularAnomaly;

public partial class TabularAnomalyModel
{
    /// <summary>One row of data/sensors.csv.</summary>
    public class ModelInput
    {
        [Name("minute")] public int Minute { get; set; }

        [Name("rpm")] public float Rpm { get; set; }

        [Name("current_a")] public float CurrentA { get; set; }

        [Name("temperature_c")] public float TemperatureC { get; set; }

        [Name("vibration_mm_s")] public float VibrationMmS { get; set; }

        [Name("pressure_bar")] public float PressureBar { get; set; }

        [Name("flow_l_min")] public float FlowLMin { get; set; }

        /// <summary>The label: 1 for an anomaly. Not a feature; used only to evaluate.</summary>
        [Name("is_anomaly")] public int IsAnomaly { get; set; }

        [Name("anomaly_type")] public string AnomalyType { get; set; } = "none";

        /// <summary>The features the detector uses, in a fixed order.</summary>
        public float[] Features() => [Rpm, CurrentA, TemperatureC, VibrationMmS, PressureBar, FlowLMin];
    }

    public class ModelOutput
    {
        /// <summary>-log p(x) of the row under the VAE of normal operation; higher = more anomalous.</summary>
        public float Score { get; set; }

        public bool PredictedLabel { get; set; }
    }

    public static readonly string[] FeatureNames = ["rpm", "current_a", "temperature_c", "vibration_mm_s", "pressure_bar", "flow_l_min"];

    public static string ModelPath { get; set; } = Path.GetFullPath(Path.Combine("out", "TabularAnomaly", "TabularAnomaly.vaead"));

    private static readonly Lazy<VaeAnomalyDetector> Detector = new(() => VaeAnomalyDetector.Load(ModelPath), isThreadSafe: true);

    /// <summary>Scores one row with the saved detector (which standardises the features itself).</summary>
    public static ModelOutput Predict(ModelInput input)
    {
        var prediction = Detector.Value.Predict(input.Features());
        return new ModelOutput { Score = prediction.Score, PredictedLabel = prediction.PredictedLabel };
    }
}
