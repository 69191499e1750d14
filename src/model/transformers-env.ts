import { env as transformersEnv, LogLevel as TransformersLogLevel } from '@huggingface/transformers';
import type { Settings } from '../config/settings.js';
import { ModelDirCache } from './model-dir-cache.js';

/**
 * Every setting of transformers.js this service changes. transformers.js reads them from one mutable
 * `env` object per module instance, that is per thread: the model worker and the tokenizer worker
 * each set their own, and nothing else loads transformers.js in the service.
 */

/**
 * Model files are looked up under `modelDir` (MODEL_ID's path below it), and downloads land there
 * too, so a model fetched once is local at the next start.
 */
export function useModelDir(modelDir: string): void {
  transformersEnv.localModelPath = modelDir;
  transformersEnv.useCustomCache = true;
  transformersEnv.customCache = new ModelDirCache(modelDir, () => transformersEnv.remoteHost);
  transformersEnv.allowLocalModels = true;
  transformersEnv.logLevel = TransformersLogLevel.ERROR;
}

/** Whether the next `from_pretrained` may download what it does not find locally. */
export function allowDownloads(allowed: boolean): void {
  transformersEnv.allowRemoteModels = allowed;
}

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
