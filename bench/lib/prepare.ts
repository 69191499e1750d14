import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BaselinePreset } from '../../src/config/settings.js';
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import { modelFolder, onnxFileName } from '../../src/model/model-files.js';

/** Compiles dist/, which the measured servers run (`node dist/main.js`, as in production). */
export function buildService(log: (message: string) => void): void {
  log('building dist/ (tsc -p tsconfig.build.json)');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}

/** Generates the baseline `preset` under `modelsDir` unless it is there; returns its model id. */
export function ensureBaseline(modelsDir: string, preset: BaselinePreset, log: (message: string) => void): string {
  const modelId = baselineModelId(preset);
  if (existsSync(join(modelFolder(modelsDir, modelId), onnxFileName('fp32')))) return modelId;
  log(`generating the ${preset} baseline under ${modelsDir}`);
  execFileSync('npm', ['run', 'model:baseline', '--', '--preset', preset, '--models-dir', modelsDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return modelId;
}
