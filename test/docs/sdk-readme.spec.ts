import { readFileSync } from 'node:fs';

/** `name → METHOD /path` of every function the generated SDK exports, read from its source. */
function sdkFunctions(): Map<string, string> {
  const source = readFileSync('sdk/src/sdk.gen.ts', 'utf8');
  const functions = new Map<string, string>();
  for (const declaration of source.split(/^(?=export const )/m).slice(1)) {
    const name = /^export const (\w+) =/.exec(declaration)?.[1];
    const method = /\)\.(get|post|put|patch|delete)</.exec(declaration)?.[1];
    const url = /\burl: '([^']+)'/.exec(declaration)?.[1];
    if (!name || !method || !url) throw new Error(`unexpected declaration in sdk.gen.ts: ${declaration.slice(0, 80)}`);
    functions.set(name, `${method.toUpperCase()} ${url}`);
  }
  return functions;
}

/** `name → METHOD /path` of the README's table of functions. */
function documentedFunctions(): Map<string, string> {
  const readme = readFileSync('sdk/README.md', 'utf8');
  const rows = [...readme.matchAll(/^\| `(\w+)` +\| `([A-Z]+ \S+)` +\|$/gm)];
  return new Map(rows.map(([, name, route]) => [name, route]));
}

describe('sdk/README.md', () => {
  it('lists every function of the generated SDK with its route, and nothing else', () => {
    const exported = sdkFunctions();
    expect(exported.size).toBeGreaterThan(0);
    expect(Object.fromEntries(documentedFunctions())).toEqual(Object.fromEntries(exported));
  });

  it('lists the functions the package entry exports', () => {
    const entry = readFileSync('sdk/src/index.ts', 'utf8');
    const fromSdk = /export \{([^}]*)\} from '\.\/sdk\.gen\.js'/.exec(entry)?.[1] ?? '';
    const names = fromSdk
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name && !name.startsWith('type '));
    expect(names.sort()).toEqual([...sdkFunctions().keys()].sort());
  });
});
