// App tier (see TIERS in jest.config.js): the app in-process or the built server, real model and Redis.
import base, { TIERS } from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  ...TIERS.app,
  // Two suites at a time even on 2 cores (Jest's default there is one): much of a suite is waiting
  // on Redis, a child server or a socket, and the tier took 568 s alone against 418 s in pairs on a
  // slow 2-core VM, most of CI's 20 minutes. Its bounds on time are generous for that.
  maxWorkers: 2,
};
