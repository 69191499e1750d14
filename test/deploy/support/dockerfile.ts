import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Just enough of the Dockerfile grammar to know what the final image declares (ENV, USER,
 * EXPOSE, ENTRYPOINT, CMD, HEALTHCHECK) for given build arguments, following `FROM <stage>` chains:
 * the manifests are checked against what the image really sets.
 */

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  name?: string;
  from: string;
  instructions: Instruction[];
}

export interface ImageDeclarations {
  env: Record<string, string>;
  user?: string;
  exposedPorts: number[];
  entrypoint?: string[];
  cmd?: string[];
  healthcheck?: string;
}

export const DOCKERFILE = join(process.cwd(), 'Dockerfile');

function instructions(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

function substitute(value: string, variables: Record<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string, bare: string) => variables[braced ?? bare] ?? '');
}

/** `A=1 B=2` (the form this project uses). */
function assignments(args: string, variables: Record<string, string>): [string, string][] {
  return [...args.matchAll(/(\w+)=("[^"]*"|\S*)/g)].map(([, key, value]) => [
    key,
    substitute(value.replace(/^"|"$/g, ''), variables),
  ]);
}

function parse(text: string): { globalArgs: Record<string, string>; stages: Stage[] } {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'FROM') {
      const [from, as, name] = instruction.args.split(/\s+/);
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG')
        Object.assign(globalArgs, Object.fromEntries(assignments(instruction.args, {})));
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** What the image built from the Dockerfile with these `--build-arg`s declares. */
export function imageDeclarations(buildArgs: Record<string, string> = {}): ImageDeclarations {
  const { globalArgs, stages } = parse(readFileSync(DOCKERFILE, 'utf8'));
  const args = { ...globalArgs, ...buildArgs };
  const chain: Stage[] = [];
  for (let stage: Stage | undefined = stages[stages.length - 1]; stage;) {
    chain.unshift(stage);
    const parent = substitute(stage.from, args);
    stage = stages.find((candidate) => candidate.name === parent);
  }
  const image: ImageDeclarations = { env: {}, exposedPorts: [] };
  for (const stage of chain) {
    // Each stage sees the global ARGs it re-declares, with their build-arg or default values.
    const variables: Record<string, string> = { ...image.env };
    for (const { keyword, args: text } of stage.instructions) {
      if (keyword === 'ARG') {
        for (const [name, fallback] of assignments(text, variables)) variables[name] = buildArgs[name] ?? fallback;
        const bare = text.match(/^(\w+)$/)?.[1];
        if (bare) variables[bare] = args[bare] ?? '';
      } else if (keyword === 'ENV') {
        for (const [name, value] of assignments(text, variables)) variables[name] = image.env[name] = value;
      } else if (keyword === 'USER') image.user = text;
      else if (keyword === 'EXPOSE')
        image.exposedPorts.push(...text.split(/\s+/).map((port) => Number.parseInt(port, 10)));
      else if (keyword === 'ENTRYPOINT') image.entrypoint = JSON.parse(text) as string[];
      else if (keyword === 'CMD') image.cmd = JSON.parse(text) as string[];
      else if (keyword === 'HEALTHCHECK') image.healthcheck = text;
    }
  }
  return image;
}
