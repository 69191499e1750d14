// Generates the tiny baseline once per run (deterministic, well under a second), so every suite
// loads a real model from test-output/models (TEST_MODELS_DIR in paths.ts): onnx/model.onnx for
// MODEL_DTYPE=fp32 and onnx/model_quantized.onnx for q8, both from this one CLI run. Plain ESM
// because Jest does not apply its module mapping to global setup files.
import { execFileSync } from 'node:child_process';

export default function globalSetup() {
  execFileSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/generate-baseline-model.ts', '--preset', 'tiny', '--models-dir', 'test-output/models'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}
