import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The deployment guide: the Secrets it tells the operator to create, and what goes in them. */
export const DEPLOY_GUIDE = readFileSync(join(process.cwd(), 'docs', 'DEPLOY.md'), 'utf8');

/**
 * The shell command docs/DEPLOY.md gives to create Secret `name` (the first one: the Azure section
 * replaces some later), its `\` continuation lines joined; undefined if it gives none.
 */
export function deployGuideSecretCommand(name: string): string | undefined {
  const lines = DEPLOY_GUIDE.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`kubectl create secret generic ${name} `));
  if (start < 0) return undefined;
  let end = start;
  while (lines[end].trimEnd().endsWith('\\') && end + 1 < lines.length) end++;
  return lines
    .slice(start, end + 1)
    .map((line) => line.trim().replace(/\\$/, ''))
    .join(' ');
}

/** The `url` the guide's Secret `name` holds, its shell variables (passwords) replaced by `standIn`. */
export function deployGuideUrl(name: string, standIn = 'stand-in'): string | undefined {
  const url = /--from-literal=url="?([^"\s]+)"?/.exec(deployGuideSecretCommand(name) ?? '')?.[1];
  return url?.replace(/\$\w+/g, standIn);
}

/**
 * The ACL file (`users.acl`) the guide's Secret `name` holds: its `user …` lines, shell variables
 * (passwords) replaced by `standIn`.
 */
export function deployGuideAcl(name: string, standIn = 'stand-in'): string[] {
  const command = deployGuideSecretCommand(name) ?? '';
  return [...command.matchAll(/(['"])(user [^'"]*)\1/g)].map(([, , line]) => line.replace(/\$\w+/g, standIn));
}
