/**
 * Other spellings of a path: every way a router, a proxy or a decoder might read as the same route,
 * or nearly the same one. None of them is the path in normal form.
 */
export function pathSpellings(path: string): string[] {
  const spellings = new Set<string>();
  const hex = (char: string) => char.charCodeAt(0).toString(16).padStart(2, '0');
  const encode = (char: string, upper: boolean) => `%${upper ? hex(char).toUpperCase() : hex(char)}`;
  const chars = [...path];
  const replaceAt = (index: number, by: string) => chars.map((char, i) => (i === index ? by : char)).join('');

  for (const upper of [true, false]) {
    chars.forEach((char, index) => spellings.add(replaceAt(index, encode(char, upper))));
    spellings.add(chars.map((char) => encode(char, upper)).join(''));
    spellings.add(chars.map((char) => (char === '/' ? char : encode(char, upper))).join(''));
  }
  // Overlong UTF-8 (2 and 3 bytes) of each character, `/` included.
  chars.forEach((char, index) => {
    const code = char.charCodeAt(0);
    const low = (0x80 | (code & 0x3f)).toString(16).toUpperCase();
    spellings.add(replaceAt(index, `%${(0xc0 | (code >> 6)).toString(16).toUpperCase()}%${low}`));
    spellings.add(replaceAt(index, `%E0%${(0x80 | (code >> 6)).toString(16).toUpperCase()}%${low}`));
  });
  // Double encoding, and full-width look-alikes.
  chars.forEach((char, index) => {
    if (char !== '/') spellings.add(replaceAt(index, `%25${hex(char).toUpperCase()}`));
  });
  spellings.add(path.replace('v', '%EF%BD%96'));
  // Case.
  spellings.add(path.toUpperCase());
  chars.forEach((char, index) => {
    if (char.toUpperCase() !== char) spellings.add(replaceAt(index, char.toUpperCase()));
  });
  // Slashes: doubled, backslashes, encoded, trailing.
  const slashes = chars.flatMap((char, index) => (char === '/' ? [index] : []));
  for (const index of slashes) {
    for (const by of ['//', '\\', '%5C', '%5c', '%2F', '%2f', '/%2F', '%C0%AF', '%E0%80%AF', '%252F']) {
      spellings.add(replaceAt(index, by));
    }
  }
  spellings.add(`/${path}`);
  spellings.add(`${path}/`);
  spellings.add(`${path}//`);
  spellings.add(`${path}/.`);
  spellings.add(`${path}/..`);
  // Dot segments, plain and encoded.
  for (const index of slashes) {
    for (const dots of ['./', '../', 'x/../', '%2E/', '%2e%2E/', '.%2E/', 'x/%2E%2E/', '%2E%2E%2F']) {
      spellings.add(path.slice(0, index + 1) + dots + path.slice(index + 1));
    }
  }
  // Matrix parameters and other separators.
  for (const suffix of [
    ';',
    ';x',
    ';x=1',
    '%3B',
    '%3Bx',
    '#',
    '#x',
    '%23',
    '%00',
    '%20',
    '%09',
    '.',
    '..',
    '~',
    '%7E',
  ]) {
    spellings.add(path + suffix);
  }
  for (const index of slashes.slice(1)) {
    spellings.add(`${path.slice(0, index)};x${path.slice(index)}`);
  }
  // Absolute-form, and other forms that are not origin-form.
  for (const origin of [
    'http://x',
    'http://127.0.0.1',
    'HTTP://x',
    'https://x',
    'http://x:80',
    'http://user@x',
    '//x',
  ]) {
    spellings.add(origin + path);
  }
  spellings.add(path.slice(1));
  spellings.add(`*${path}`);
  spellings.delete(path);
  return [...spellings];
}
