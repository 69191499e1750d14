import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/** The README and the pages it links to, which link to each other and to the repository's files. */
const PAGES = ['README.md', 'sdk/README.md', ...readdirSync('docs').map((name) => join('docs', name))].filter((path) =>
  path.endsWith('.md'),
);

function withoutCodeBlocks(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(page: string): Set<string> {
  const headings = withoutCodeBlocks(readFileSync(page, 'utf8')).matchAll(/^#+ (.+)$/gm);
  return new Set([...headings].map(([, heading]) => anchor(heading)));
}

/** Relative link targets of a page: `[text](target)`, outside code blocks. */
function relativeLinks(page: string): string[] {
  const links = withoutCodeBlocks(readFileSync(page, 'utf8')).matchAll(/\]\(([^)\s]+)\)/g);
  return [...links].map(([, target]) => target).filter((target) => !/^[a-z]+:/.test(target));
}

describe.each(PAGES)('links of %s', (page) => {
  it('lead to files of the repository and to headings that exist', () => {
    const broken = relativeLinks(page).filter((link) => {
      const [path, fragment] = link.split('#');
      const target = path === '' ? page : normalize(join(dirname(page), path));
      if (!existsSync(target)) return true;
      return fragment !== undefined && target.endsWith('.md') && !anchorsOf(target).has(fragment);
    });
    expect(broken).toEqual([]);
  });
});
