// Generates the offline baseline model folder, with onnx/model.onnx (fp32) and
// onnx/model_quantized.onnx (q8):
//   tsx scripts/generate-baseline-model.ts --preset tiny|base [--head sentiment|multi-label] [--models-dir ./models]
// and prints the folder it wrote.
import { parseArgs } from 'node:util';
import { BASELINE_HEADS, isBaselinePreset } from '../src/baseline-model/baseline-presets.js';
import { writeBaselineModel } from '../src/baseline-model/write-baseline-model.js';

const USAGE =
  'Usage: tsx scripts/generate-baseline-model.ts --preset tiny|base [--head sentiment|multi-label] [--models-dir ./models]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string' },
      head: { type: 'string', default: 'sentiment' },
      'models-dir': { type: 'string', default: './models' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.preset || !isBaselinePreset(values.preset)) {
    throw new Error(`--preset must be tiny or base\n${USAGE}`);
  }
  const head = BASELINE_HEADS.find((known) => known === values.head);
  if (!head) throw new Error(`--head must be ${BASELINE_HEADS.join(' or ')}\n${USAGE}`);
  const { dir } = await writeBaselineModel({ preset: values.preset, head, modelsDir: values['models-dir'] });
  console.log(dir);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
