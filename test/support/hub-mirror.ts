import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { join, relative } from 'node:path';

/** One model repository the mirror serves. */
export interface MirrorRepo {
  /** Hub-style id, `org/name`. */
  id: string;
  /** Folder whose files are the repository's (at every revision). */
  folder: string;
  /** Revision names (branches, tags) it resolves; a commit sha of one resolves too. Default: `main`. */
  revisions?: readonly string[];
  /** Set for a gated or private repository: every file needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Files served with other files' bytes (repository path → path under `folder`), e.g. a tampered weight file. */
  substitutes?: Record<string, string>;
  /** Files of `folder` the repository lacks. */
  omit?: readonly string[];
}

export interface MirrorRequest {
  method: string;
  path: string;
  /** The Authorization header as received (tests check where a token went, never log it). */
  authorization?: string;
}

export interface HubMirror {
  /** Base URL, for HF_ENDPOINT. */
  readonly endpoint: string;
  readonly requests: MirrorRequest[];
  close(): Promise<void>;
}

interface StoredFile {
  bytes: Buffer;
  sha256: string;
  /** What git would name the blob: the hub's ETag for a file not stored with LFS. */
  gitSha1: string;
}

/** Weights live in Git LFS on the hub: their resolve URL redirects to a CDN, like here. */
const isLfs = (path: string) => path.endsWith('.onnx');

function storedFiles(repo: MirrorRepo): Map<string, StoredFile> {
  const files = new Map<string, StoredFile>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder)) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(repo.folder, path).split('\\').join('/'), stored(readFileSync(path)));
    }
  };
  walk(repo.folder);
  for (const [path, source] of Object.entries(repo.substitutes ?? {})) {
    files.set(path, stored(readFileSync(join(repo.folder, source))));
  }
  for (const path of repo.omit ?? []) files.delete(path);
  return files;
}

function stored(bytes: Buffer): StoredFile {
  return {
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    gitSha1: createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex'),
  };
}

/** A commit sha per revision name, stable for a repository, as the hub's X-Repo-Commit reports. */
function commitOf(repoId: string, revision: string): string {
  return createHash('sha1').update(`${repoId}@${revision}`).digest('hex');
}

function refuse(response: ServerResponse, status: number, code: string | undefined, error: string): void {
  response.writeHead(status, {
    'Content-Type': 'application/json',
    ...(code === undefined ? {} : { 'X-Error-Code': code }),
  });
  response.end(JSON.stringify({ error }));
}

/** Answers a GET or HEAD of `bytes`, honouring a `Range: bytes=a-b` header as the hub and its CDN do. */
function sendBytes(request: IncomingMessage, response: ServerResponse, bytes: Buffer, headers: OutgoingHttpHeaders) {
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
  const common = { ...headers, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
  if (range) {
    const start = Number(range[1]);
    const end = Math.min(range[2] === '' ? bytes.length - 1 : Number(range[2]), bytes.length - 1);
    if (start > end) {
      response.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` }).end();
      return;
    }
    response.writeHead(206, {
      ...common,
      'Content-Length': end - start + 1,
      'Content-Range': `bytes ${start}-${end}/${bytes.length}`,
    });
    response.end(request.method === 'HEAD' ? undefined : bytes.subarray(start, end + 1));
    return;
  }
  response.writeHead(200, { ...common, 'Content-Length': bytes.length });
  response.end(request.method === 'HEAD' ? undefined : bytes);
}

/**
 * A local stand-in for the Hugging Face hub, speaking its file-resolution protocol as
 * transformers.js and @huggingface/hub use it: `GET|HEAD /<org>/<name>/resolve/<revision>/<path>`
 * answers the file with `ETag`, `X-Repo-Commit` and `Content-Length` (ranges honoured); an LFS file
 * (`*.onnx`) redirects to `/cdn/<sha256>` with `X-Linked-Size`/`X-Linked-Etag`, and the CDN needs no
 * token, like the hub's signed links. Refusals carry the hub's `X-Error-Code`: 401 `GatedRepo` without
 * a token, 401 with a wrong one, 401 `RepoNotFound` for an unknown repository, 404 `RevisionNotFound`,
 * 404 `EntryNotFound`. Neither client calls an `/api/` route to download a file.
 */
export function startHubMirror(repos: readonly MirrorRepo[]): Promise<HubMirror> {
  const served = new Map(repos.map((repo) => [repo.id, { repo, files: storedFiles(repo) }]));
  const cdn = new Map<string, Buffer>();
  for (const { files } of served.values()) for (const file of files.values()) cdn.set(file.sha256, file.bytes);
  const requests: MirrorRequest[] = [];

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://mirror');
    const path = decodeURIComponent(url.pathname);
    requests.push({ method: request.method ?? '', path, authorization: request.headers.authorization });
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      refuse(response, 405, undefined, 'Method not allowed');
      return;
    }
    const blob = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    if (blob) {
      const bytes = cdn.get(blob[1]);
      if (bytes === undefined) refuse(response, 404, undefined, 'Not found');
      else sendBytes(request, response, bytes, { ETag: `"${blob[1]}"` });
      return;
    }
    // The revision is one path segment: a name such as refs/pr/1 arrives percent-encoded.
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repo = match ? served.get(decodeURIComponent(match[1])) : undefined;
    if (!match || repo === undefined) {
      refuse(response, 401, 'RepoNotFound', 'Repository not found');
      return;
    }
    const { token, id } = repo.repo;
    if (token !== undefined) {
      const authorization = request.headers.authorization;
      if (authorization === undefined) {
        refuse(
          response,
          401,
          'GatedRepo',
          `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        );
        return;
      }
      if (authorization !== `Bearer ${token}`) {
        refuse(response, 401, undefined, 'Invalid credentials in Authorization header');
        return;
      }
    }
    const revision = decodeURIComponent(match[2]);
    const names = repo.repo.revisions ?? ['main'];
    const known = names.find((name) => name === revision || commitOf(id, name) === revision);
    if (known === undefined) {
      refuse(response, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
      return;
    }
    const filePath = decodeURIComponent(match[3]);
    const file = repo.files.get(filePath);
    if (file === undefined) {
      refuse(response, 404, 'EntryNotFound', `Entry not found: ${filePath}`);
      return;
    }
    const commit = { 'X-Repo-Commit': commitOf(id, known) };
    if (isLfs(filePath)) {
      response.writeHead(302, {
        ...commit,
        Location: `/cdn/${file.sha256}`,
        'X-Linked-Size': file.bytes.length,
        'X-Linked-Etag': `"${file.sha256}"`,
        ETag: `"${file.sha256}"`,
      });
      response.end();
      return;
    }
    sendBytes(request, response, file.bytes, { ...commit, ETag: `"${file.gitSha1}"` });
  });

  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        endpoint: `http://127.0.0.1:${port}`,
        requests,
        close: () =>
          new Promise<void>((closed) => {
            server.closeAllConnections();
            server.close(() => closed());
          }),
      });
    }),
  );
}
