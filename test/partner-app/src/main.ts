// The partner app: `node main.js <ready service URL> <loading service URL>` prints a JSON report of
// what it saw. test/partner-app/partner-app.e2e.spec.ts runs it against live servers.
import { ReviewModerator } from './review-moderator.js';

const [readyUrl, loadingUrl] = process.argv.slice(2);
if (!readyUrl || !loadingUrl) {
  console.error('usage: node main.js <ready service URL> <loading service URL>');
  process.exit(2);
}

const moderator = new ReviewModerator(readyUrl);
const model = await moderator.model();
const verdicts = await moderator.judge(['I love this phone', 'Terrible battery, I hate it', `${'great '.repeat(600)}`]);
const empty = await moderator.judge([]);
const notReady = await new ReviewModerator(loadingUrl).judge(['Great service']);

const problemSummary = (outcome: typeof empty) =>
  outcome.ok
    ? { ok: true }
    : {
        status: outcome.status,
        type: outcome.problem.type,
        paths: outcome.problem.errors?.map((error) => error.path) ?? [],
        retryAfterSeconds: outcome.retryAfterSeconds,
      };

console.log(
  JSON.stringify({
    model: model.ok
      ? { id: model.value.id, labels: model.value.labels, maxBatchSize: model.value.maxBatchSize }
      : model,
    verdicts: verdicts.ok ? verdicts.value : verdicts,
    empty: problemSummary(empty),
    notReady: problemSummary(notReady),
  }),
);
