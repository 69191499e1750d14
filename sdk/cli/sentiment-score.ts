#!/usr/bin/env node
// sentiment-score: score a JSONL file as a bulk job of the Sentiment API, built on the generated SDK.
//   sentiment-score [--url URL] [--long-text chunk] [--job ID] reviews.jsonl > scored.jsonl
// The API key comes from SENTIMENT_API_KEY (never a flag: it would show in `ps` and shell history).
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { client, getJob, getJobResults, submitJob, type JobStatus } from '@sentiment-api/client';

const USAGE = `usage: sentiment-score [--url URL] [--interval MS] [--long-text truncate|chunk] (FILE.jsonl | --job ID) > results.jsonl

Submits FILE (one {"text": "...", "id": "..."} per line) as a bulk job, shows its progress on stderr
and writes the results (NDJSON, input order) to stdout once it completes. Running the same command
again after an interruption resumes the same job (the file's hash and --long-text are its
Idempotency-Key, for the API key or SENTIMENT_JOB_TOKEN); --job ID follows a job by id.
--long-text chunk reads texts longer than the model's window whole, in overlapping windows (default
truncate: they are cut). API key: SENTIMENT_API_KEY. Without API keys a job belongs to a secret job
token: SENTIMENT_JOB_TOKEN (32+ characters), or one made for this run and shown with the resume
command. URL: --url or SENTIMENT_API_URL (default http://localhost:8000).`;

const { values, positionals } = parseArgs({
  options: {
    url: { type: 'string' },
    job: { type: 'string' },
    interval: { type: 'string', default: '1000' },
    'long-text': { type: 'string', default: 'truncate' },
    help: { type: 'boolean', short: 'h' },
  },
  allowPositionals: true,
});

function fail(message: string, code = 1): never {
  process.stderr.write(`sentiment-score: ${message}\n`);
  process.exit(code);
}

if (values.help || (positionals.length !== 1 && !values.job)) fail(USAGE, values.help ? 0 : 2);
const longText =
  values['long-text'] === 'truncate' || values['long-text'] === 'chunk'
    ? values['long-text']
    : fail(`--long-text must be truncate or chunk\n${USAGE}`, 2);

const apiKey = process.env.SENTIMENT_API_KEY;
client.setConfig({
  baseUrl: values.url ?? process.env.SENTIMENT_API_URL ?? 'http://localhost:8000',
  ...(apiKey ? { auth: () => apiKey } : {}),
});
const intervalMs = Number(values.interval);
// Without an API key the service needs a job token (ignored where the service has API keys).
const jobToken = apiKey ? undefined : (process.env.SENTIMENT_JOB_TOKEN ?? randomBytes(32).toString('base64url'));
const tokenHeaders = jobToken ? { 'Job-Token': jobToken } : {};
/** How to run this again for the same job: the token is part of it (an env variable, like the key). */
const resumeCommand = (id: string) =>
  `${jobToken && !process.env.SENTIMENT_JOB_TOKEN ? `SENTIMENT_JOB_TOKEN=${jobToken} ` : ''}sentiment-score --job ${id}`;

/** A one-line progress report: a redrawn bar on a terminal, plain lines otherwise (logs, pipes). */
class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private readonly startedAt = performance.now();
  private startDone = -1;
  private lastLine = '';

  update(status: JobStatus): void {
    const { textsDone: done, textsTotal: total, state } = status;
    if (this.startDone < 0) this.startDone = done;
    const seconds = (performance.now() - this.startedAt) / 1000;
    const rate = seconds > 0 ? (done - this.startDone) / seconds : 0;
    const eta = rate > 0 ? `${Math.ceil((total - done) / rate)}s` : '?';
    const percent = total > 0 ? Math.floor((100 * done) / total) : 0;
    const figures = `${done}/${total} texts ${percent}% ${rate.toFixed(0)} texts/s ETA ${eta} (${state})`;
    if (this.tty) {
      const width = 30;
      const filled = Math.round((width * percent) / 100);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${figures}\x1b[K`);
    } else if (figures !== this.lastLine) {
      process.stderr.write(`progress ${figures}\n`);
    }
    this.lastLine = figures;
  }

  end(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

async function submit(file: string): Promise<string> {
  const body = await readFile(file, 'utf8');
  const digest = createHash('sha256').update(body).digest('hex');
  const { data, error, response } = await submitJob({
    client,
    body,
    bodySerializer: null,
    // The service binds a key to the body and long_text: the same file with another option is another job.
    query: longText === 'truncate' ? undefined : { long_text: longText },
    headers: {
      'Idempotency-Key': `sentiment-score:${digest}${longText === 'truncate' ? '' : `:long_text=${longText}`}`,
      ...tokenHeaders,
    },
  });
  if (!data) fail(`submit answered ${response.status}: ${JSON.stringify(error)}`);
  process.stderr.write(`job ${data.id} (${data.textsTotal} texts); resume with: ${resumeCommand(data.id)}\n`);
  return data.id;
}

async function follow(id: string): Promise<JobStatus> {
  const progress = new Progress();
  for (;;) {
    const { data, error, response } = await getJob({ client, path: { id }, headers: tokenHeaders });
    if (!data) fail(`status answered ${response.status}: ${JSON.stringify(error)}`);
    progress.update(data);
    if (data.state === 'completed' || data.state === 'failed' || data.state === 'cancelled') {
      progress.end();
      return data;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function main(): Promise<void> {
  const id = values.job ?? (await submit(positionals[0]));
  process.once('SIGINT', () => fail(`\ninterrupted; the job goes on: ${resumeCommand(id)}`, 130));
  const end = await follow(id);
  if (end.state !== 'completed') fail(`job ${id} ${end.state}${end.error ? `: ${end.error}` : ''}`);
  const { data, response } = await getJobResults({ client, path: { id }, headers: tokenHeaders, parseAs: 'stream' });
  if (!data || response.status !== 200) fail(`results answered ${response.status}`);
  for await (const block of data as unknown as AsyncIterable<Uint8Array>) {
    if (!process.stdout.write(block)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  }
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
