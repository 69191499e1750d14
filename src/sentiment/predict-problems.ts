import { problemKind } from '../http/problem-catalogue.js';

/** The predict routes' own kinds of problem, beside the shared ones (`PROBLEM`). */
export const PREDICT_PROBLEM = {
  /** With `long_text: "chunk"`, texts that together need more windows than one request may take. */
  tooManyWindows: problemKind(413, 'too-many-windows'),
} as const;
