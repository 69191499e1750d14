import type { Prediction } from '../../src/model/label-scores.js';
import type { JobStatusDto, SubmittedJobDto } from '../../src/jobs/dto/job-status.dto.js';

/** A job result line as the results route writes it. */
export interface ResultLine {
  line: number;
  id?: string;
  predictions: Prediction;
}

/**
 * The jobs routes over real HTTP, as one API key. Without API keys a job belongs to its job token:
 * the client sends `jobToken` when given, and otherwise keeps the token each submission answers
 * and sends it when it reads that job, as a partner's client would.
 */
export class JobClient {
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    private readonly apiKey?: string,
    private readonly jobToken?: string,
  ) {}

  private headers(extra: Record<string, string> = {}, id?: string): Record<string, string> {
    const token = (id === undefined ? undefined : this.tokens.get(id)) ?? this.jobToken;
    return {
      ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
      ...(token ? { 'job-token': token } : {}),
      ...extra,
    };
  }

  /** `query`: the job's options, e.g. `?long_text=chunk`. */
  async submit(ndjson: string, headers: Record<string, string> = {}, query = ''): Promise<Response> {
    const response = await fetch(`${this.baseUrl}/v1/sentiment/jobs${query}`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/x-ndjson', ...headers }),
      body: ndjson,
    });
    if (response.status === 202) {
      const { id, jobToken } = (await response.clone().json()) as { id: string; jobToken?: string };
      if (jobToken) this.tokens.set(id, jobToken);
    }
    return response;
  }

  status(id: string): Promise<Response> {
    return fetch(`${this.baseUrl}/v1/sentiment/jobs/${id}`, { headers: this.headers({}, id) });
  }

  results(id: string): Promise<Response> {
    return fetch(`${this.baseUrl}/v1/sentiment/jobs/${id}/results`, { headers: this.headers({}, id) });
  }

  cancel(id: string): Promise<Response> {
    return fetch(`${this.baseUrl}/v1/sentiment/jobs/${id}`, { method: 'DELETE', headers: this.headers({}, id) });
  }

  async predict(texts: string[]): Promise<Prediction[]> {
    const response = await fetch(`${this.baseUrl}/v1/sentiment/predict`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ text: texts }),
    });
    if (response.status !== 200) throw new Error(`predict answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { predictions: Prediction[] }).predictions;
  }

  /** Polls the job until it ends; returns its last status. */
  async waitForEnd(id: string, timeoutMs: number): Promise<JobStatusDto> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const status = (await (await this.status(id)).json()) as JobStatusDto;
      if (['completed', 'failed', 'cancelled'].includes(status.state)) return status;
      if (performance.now() > deadline) throw new Error(`job ${id} still ${status.state} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async resultLines(id: string): Promise<ResultLine[]> {
    const response = await this.results(id);
    if (response.status !== 200) throw new Error(`results answered ${response.status}`);
    return (await response.text())
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as ResultLine);
  }
}

/** The job a submission's 202 answered; throws with the answer otherwise. */
export async function acceptedJob(response: Response): Promise<SubmittedJobDto> {
  if (response.status !== 202) throw new Error(`submission answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as SubmittedJobDto;
}

/** NDJSON of `texts`, each with id `r<i>`. */
export function ndjson(texts: string[]): string {
  return texts.map((text, i) => JSON.stringify({ text, id: `r${i}` })).join('\n') + '\n';
}
