/**
 * docs/modules.md lists every module of the product code with its responsibility in one line: the
 * first sentence of the module's own header comment. It is made from the tree, so it cannot drift:
 * this test fails when a module is added, moved, removed or its header's first sentence changes,
 * and `GALAXY_WRITE_MODULES=1 npx vitest run test/docs/modules.test.ts` writes it anew.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const DOC = join(root, 'docs', 'modules.md');

/** The product's top folders, in the order a reader meets them, and what each is. */
const FOLDERS: readonly (readonly [string, string])[] = [
  ['core', 'the shared domain: resources, ids, errors, config, the Coordinator, the plugin loader'],
  ['isolators', 'isolator plugins of the agent, one folder each, and the cgroup driver interface'],
  ['allocators', 'the hierarchical allocator and its policies (sorters)'],
  [
    'agent',
    'the agent process: discovery, containerizer, cgroup drivers, launchers, status updates, checkpoints, logs',
  ],
  [
    'master',
    'the master process, by concern: api, registry, frameworks, agents, offers, tenancy, preemption, accounting, events, logs, HTTP',
  ],
  ['frameworks', 'the SDK, the framework host, and the built-in frameworks (AppMaster, batch, MapReduce)'],
  ['cli', 'the galaxy command'],
  ['console', 'the web console (preact, bundled by esbuild into dist/console/)'],
  ['sim', 'the datacenter simulator (simulated agents, trace replay)'],
  ['bench', 'benchmarks; each prints one JSON line'],
  ['examples', 'plugins and frameworks to copy from, each loaded by a test'],
];
/** A line's longest sentence before it is cut (at a word) and marked with `…`. */
const MAX_SENTENCE = 160;

/** Whether `path` (relative) is a module of the product: source, not a test or generated code. */
function isModule(path: string): boolean {
  return /\.(ts|tsx|c)$/.test(path) && !/\.test\.tsx?$/.test(path) && !path.endsWith('.d.ts');
}

/** The first sentence of a source's header comment (`/** … *\/` or `/* … *\/`), or ''. */
function headerSentence(source: string): string {
  const header = /^(?:#![^\n]*\n)?\s*\/\*\*?([\s\S]*?)\*\//.exec(source)?.[1] ?? '';
  const text = header
    .split('\n')
    .map((line) => line.replace(/^\s*\*\s?/, '').trim())
    .join(' ')
    .replace(/\{@link ([^}]+)\}/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
  // A sentence ends at a full stop before a space or the end, unless it ends an abbreviation.
  let sentence = text;
  for (const end of text.matchAll(/\.(?=\s|$)/g)) {
    if (/\b(e\.g|i\.e|etc|vs|cf)$/.test(text.slice(0, end.index))) continue;
    sentence = text.slice(0, end.index + 1);
    break;
  }
  if (sentence.length <= MAX_SENTENCE) return sentence;
  const cut = sentence.slice(0, MAX_SENTENCE);
  return `${cut.slice(0, cut.lastIndexOf(' '))} …`;
}

/** Every module below `folder`, relative to the root, sorted by folder then name. */
async function modulesOf(folder: string): Promise<string[]> {
  const entries = await readdir(join(root, folder), { recursive: true, encoding: 'utf8' });
  return entries
    .map((entry) => join(folder, entry))
    .filter((path) => isModule(path) && !path.includes('/node_modules/'))
    .sort((a, b) => {
      const [da, db] = [a.slice(0, a.lastIndexOf('/')), b.slice(0, b.lastIndexOf('/'))];
      return da === db ? a.localeCompare(b) : da.localeCompare(db);
    });
}

/** docs/modules.md as the tree makes it. */
async function modulesDoc(): Promise<string> {
  const out = [
    '# Modules',
    '',
    "Every module of the product code and its responsibility in one line: the first sentence of the module's",
    'own header comment (tests are left out; they sit beside what they test). This page is made from the',
    'tree by `test/docs/modules.test.ts`, which fails when it is out of date',
    '(`GALAXY_WRITE_MODULES=1 npx vitest run test/docs/modules.test.ts` writes it anew). Layering between',
    'the folders is checked by `npm run lint:layers` (`.dependency-cruiser.cjs`).',
  ];
  for (const [folder, what] of FOLDERS) {
    out.push('', `## ${folder}/ — ${what}`);
    let current = '';
    for (const path of await modulesOf(folder)) {
      const dir = `${path.slice(0, path.lastIndexOf('/'))}/`;
      if (dir !== current) {
        out.push('', `### \`${dir}\``, '');
        current = dir;
      }
      const sentence = headerSentence(await readFile(join(root, path), 'utf8'));
      out.push(`- \`${relative(dir, path)}\`: ${sentence || '(no header comment)'}`);
    }
  }
  return `${out.join('\n')}\n`;
}

describe('docs/modules.md', () => {
  it('lists every module with the first sentence of its header, as the tree is now', async () => {
    const made = await modulesDoc();
    if (process.env.GALAXY_WRITE_MODULES === '1') await writeFile(DOC, made);
    expect(await readFile(DOC, 'utf8')).toBe(made);
    // Every module says what it is for.
    expect(made).not.toContain('(no header comment)');
  });

  it('takes the first sentence, cut at a word when long', () => {
    expect(headerSentence('/**\n * Exponential backoff, with jitter. More here.\n */\nexport {};')).toBe(
      'Exponential backoff, with jitter.',
    );
    expect(headerSentence('/* galaxy-init: e.g. the helper. next, lower case. */')).toBe(
      'galaxy-init: e.g. the helper.',
    );
    expect(headerSentence('/** A {@link GalaxyError} with a code. */')).toBe('A GalaxyError with a code.');
    const long = headerSentence(`/** ${'word '.repeat(60)}end. */`);
    expect(long.length).toBeLessThanOrEqual(MAX_SENTENCE + 2);
    expect(long.endsWith(' …')).toBe(true);
  });
});
