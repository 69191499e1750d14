import { env as transformersEnv, ModelFileNotFoundError } from '@huggingface/transformers';
import type { Settings } from '../config/settings.js';

export type HubOptions = Pick<Settings, 'hubEndpoint' | 'hubToken' | 'modelRevision'>;

/**
 * Points transformers.js's downloads at HF_ENDPOINT, at MODEL_REVISION, with HF_TOKEN. Files land
 * in transformers.js's file cache (MODEL_DIR), so a model fetched once is local at the next start.
 */
export function useHub({ hubEndpoint, hubToken, modelRevision }: HubOptions): void {
  transformersEnv.remoteHost = `${hubEndpoint}/`;
  // The revision goes into the path template rather than from_pretrained's `revision` option: the
  // option also files a revision other than `main` under MODEL_DIR/<id>/<revision>/ in the cache,
  // where the next start's local lookup (and the image's layout, MODEL_DIR/<id>/) would not see it.
  transformersEnv.remotePathTemplate = `{model}/resolve/${encodeURIComponent(modelRevision)}/`;
  // transformers.js sends a token only to huggingface.co and hf.co, read from process.env itself, so
  // a mirror of a gated model would get none. Only requests to HF_ENDPOINT carry it; fetch drops
  // Authorization on a redirect to another origin (the hub's CDN links are signed instead).
  const hubOrigin = new URL(hubEndpoint).origin;
  transformersEnv.fetch = (input: string | URL, init?: RequestInit) => {
    if (hubToken === undefined || new URL(input).origin !== hubOrigin) return fetch(input, init);
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${hubToken}`);
    return fetch(input, { ...init, headers });
  };
}

/** The status of a hub answer that refused the download (401, 403, 404), if that is why it failed. */
export function refusedStatus(error: unknown): number | undefined {
  return error instanceof ModelFileNotFoundError ? (error.status ?? undefined) : undefined;
}

/** Why a download failed, with what to do about it for the refusals an operator can fix. */
export function downloadFailure(error: unknown, modelId: string, { hubEndpoint, modelRevision }: HubOptions): string {
  const reason = (error as Error).message;
  const status = refusedStatus(error);
  switch (status) {
    case 401:
    case 403:
      return (
        `the hub at ${hubEndpoint} refused ${modelId}@${modelRevision} (HTTP ${status}): ` +
        'HF_TOKEN is missing, invalid, or lacks access to this gated or private model. ' +
        reason
      );
    case 404:
      return `${modelId} has no such file at revision ${modelRevision} on ${hubEndpoint} (check MODEL_ID and MODEL_REVISION). ${reason}`;
    default:
      return reason;
  }
}
