"""Writes sensors.csv: a synthetic pump-monitoring data set with labelled anomalies, for samples/TabularAnomaly.

Normal rows follow one hidden load level (idle, normal or peak operation) and a slow daily ambient cycle, so the six
sensor readings are strongly correlated. About 3% of the rows are anomalies of four kinds, each breaking those
relations in its own way: bearing wear (extra vibration), overheating (temperature above what the load explains),
an electrical fault (current too high for the speed) and a leak (pressure drops while the flow rises).

Run: python3 samples/TabularAnomaly/data/generate_sensors.py   (stdlib only; the output is deterministic)
"""
import math
import os
import random

ROWS = 4000
ANOMALY_RATE = 0.03
rng = random.Random(20261121)


def normal_row(t):
    mode = rng.choices([0.2, 0.6, 0.95], weights=[0.2, 0.6, 0.2])[0]
    load = min(1.0, max(0.05, rng.gauss(mode, 0.06)))
    ambient = math.sin(2 * math.pi * t / 1440)  # one cycle per 1440 rows (a day of minutes)
    pressure_base = 1.5 + 3.0 * load
    pressure = pressure_base + rng.gauss(0, 0.1)
    return {
        "rpm": 600 + 2400 * load + rng.gauss(0, 40),
        "current_a": 2 + 18 * load + rng.gauss(0, 0.4),
        "temperature_c": 35 + 30 * load + 5 * ambient + rng.gauss(0, 1.0),
        "vibration_mm_s": 1.0 + 1.5 * load * load + rng.gauss(0, 0.12),
        "pressure_bar": pressure,
        "flow_l_min": 20 + 60 * load + 8 * (pressure - pressure_base) + rng.gauss(0, 2.0),
    }


def make_anomaly(row):
    kind = rng.choice(["bearing_wear", "overheating", "electrical_fault", "leak"])
    if kind == "bearing_wear":
        row["vibration_mm_s"] += rng.uniform(1.0, 2.5)
    elif kind == "overheating":
        row["temperature_c"] += rng.uniform(8, 18)
    elif kind == "electrical_fault":
        row["current_a"] *= rng.uniform(1.25, 1.6)
    else:
        row["pressure_bar"] -= rng.uniform(0.5, 1.0)
        row["flow_l_min"] += rng.uniform(8, 16)
    return kind


def main():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sensors.csv")
    columns = ["minute", "rpm", "current_a", "temperature_c", "vibration_mm_s", "pressure_bar", "flow_l_min", "is_anomaly", "anomaly_type"]
    with open(path, "w", newline="") as f:
        f.write(",".join(columns) + "\n")
        for t in range(ROWS):
            row = normal_row(t)
            kind = make_anomaly(row) if rng.random() < ANOMALY_RATE else "none"
            values = [str(t)] + [f"{row[c]:.3f}" for c in columns[1:7]] + [str(int(kind != "none")), kind]
            f.write(",".join(values) + "\n")


if __name__ == "__main__":
    main()
