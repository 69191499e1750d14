import { join } from 'node:path';

/** Everything tests write goes under test-output/ (git-ignored). */
export const TEST_OUTPUT_DIR = join(process.cwd(), 'test-output');
/** Models generated once per run by the global setup and shared by all suites. */
export const TEST_MODELS_DIR = join(TEST_OUTPUT_DIR, 'models');
