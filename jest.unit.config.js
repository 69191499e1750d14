// Unit tier (see TIERS in jest.config.js): pure classes and committed files, in this process.
import base, { TIERS } from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  ...TIERS.unit,
};
