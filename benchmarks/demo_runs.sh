#!/usr/bin/env bash
# Runs `platform run TASK` on every built-in demo, one after the other, and prints each
# task's primary metric and the wall time of the whole command. Usage:
#   bash benchmarks/demo_runs.sh [OUT_DIR]
set -euo pipefail
out="${1:-runs/demo-check}"
mkdir -p "$out"
for task in translation summarization qa intent generation; do
    start=$(date +%s)
    platform run "$task" --out "$out/$task" --overwrite --quiet > "$out/$task.log" 2>&1
    end=$(date +%s)
    python3 - "$out/$task/metrics.json" "$task" "$((end - start))" <<'PY'
import json, sys
record = json.load(open(sys.argv[1]))
primary = record["primary_metric"]
others = ", ".join(f"{k} {v['value']:.2f}" for k, v in record["metrics"].items() if k != primary)
print(f"{sys.argv[2]:14s} {primary} {record['metrics'][primary]['value']:.2f} ({others}); "
      f"{record['training']['steps']} steps; whole command {sys.argv[3]} s")
PY
done
