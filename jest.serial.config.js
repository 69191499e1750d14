// Serial tier (see TIERS in jest.config.js), chaos and soak: long loads judged by "no request failed"
// and by the service's own metrics. They run last, one at a time, so no other suite competes for the
// cores and turns a fault-free second into a queue-full 503.
import base, { TIERS } from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  ...TIERS.serial,
  maxWorkers: 1,
  testTimeout: 180000,
};
