/**
 * docs/writing-plugins.md shows code a plugin author copies: each of its TypeScript blocks must be
 * an example file of this folder word for word (imports from the installed package, `galaxy/dist/…`,
 * being the examples' relative imports), so that what the page shows compiles with the tree and is
 * run by the examples' tests (the allocator by the property tests, the AppMaster plugin by
 * pod-labels.test.ts, the master plugin by the plugin loader's tests).
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The example files' text, by path under examples/. */
async function examples(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(join(root, 'examples'), { recursive: true, encoding: 'utf8' }))
    if (entry.endsWith('.ts') && !entry.endsWith('.test.ts'))
      files.set(entry, await readFile(join(root, 'examples', entry), 'utf8'));
  return files;
}

describe('docs/writing-plugins.md', () => {
  it('shows only code that is an example file, word for word', async () => {
    const page = await readFile(join(root, 'docs', 'writing-plugins.md'), 'utf8');
    const blocks = [...page.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const files = await examples();
    for (const block of blocks) {
      // A first comment line may name the file; the rest is the file's code.
      const code = block
        .replace(/^\/\/ .*\n/, '')
        .replaceAll("'galaxy/dist/", "'../../")
        .trim();
      const source = [...files].find(([, text]) => text.includes(code));
      expect(source, `a block of the page is no example file:\n${code.slice(0, 200)}`).toBeDefined();
    }
  });
});
