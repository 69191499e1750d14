// App tier (see TIERS in jest.config.js): the app in-process or the built server, real model and Redis.
import base, { TIERS } from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  ...TIERS.app,
};
