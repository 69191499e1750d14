import { ModelFileNotFoundError } from '@huggingface/transformers';
import type { HubOptions } from './transformers-env.js';

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
