// System tier (see TIERS in jest.config.js): Chromium, Prometheus, the container build, kubectl, the
// tool chain and the replicas of test/cluster. One suite at a time: a container build or three server
// replicas take the cores, and a suite sharing them would time out instead of failing for a reason.
import base, { TIERS } from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  ...TIERS.system,
  maxWorkers: 1,
};
