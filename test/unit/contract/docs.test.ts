/**
 * The documentation is part of the contract: the annotation and env tables in docs/ and the README must list
 * exactly the names (and defaults) the code's tables hold, so adding a name without documenting it fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIDECAR_AWS_SETTINGS, SIDECAR_SETTINGS } from '../../../sidecar/config.js';
import { ANNOTATION_PREFIX, ANNOTATIONS, SECRET_ANNOTATION_PREFIX } from '../../../sidecar/contract/names.js';
import { WEBHOOK_SETTINGS, WEBHOOK_TLS_AUTO_SETTINGS } from '../../../webhook/config.js';

const root = join(import.meta.dirname, '../../..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

/** The markdown table rows under a heading (up to the next heading): first cell → second cell. */
function tableUnder(text: string, heading: string): Map<string, string> {
  text = `\n${text}`;
  const start = text.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`no heading ${heading}`);
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(/\n#{1,6} /);
  const rows = new Map<string, string>();
  for (const line of (end === -1 ? rest : rest.slice(0, end)).split('\n')) {
    const m = /^\| `([^`]+)`(?:, `[^`]+`)* \| ([^|]*) \|/.exec(line);
    if (m) rows.set(m[1] ?? '', (m[2] ?? '').trim());
  }
  return rows;
}

const annotationNames = [...Object.values(ANNOTATIONS), `${SECRET_ANNOTATION_PREFIX}<name>`].sort();
const fmt = (d: string | undefined): string => (d === undefined ? '—' : `\`${d}\``);

test('docs/annotations.md lists every annotation, and nothing else', () => {
  expect([...tableUnder(read('docs/annotations.md'), '# Pod annotations').keys()].sort()).toEqual(annotationNames);
});

test("the README's annotation reference lists every annotation, and nothing else", () => {
  const text = read('README.md');
  const start = text.indexOf('## Annotation reference');
  const tableStart = text.indexOf('\n|', start);
  // the first table of the section: its rows run up to the first blank line
  const section = text.slice(tableStart, text.indexOf('\n\n', tableStart));
  const keys = [...section.matchAll(/^\| ((?:`[^`]+`(?:, )?)+) \|/gm)].flatMap((m) =>
    [...(m[1] ?? '').matchAll(/`([^`]+)`/g)].map((k) => k[1]),
  );
  expect(
    keys
      .filter((k) => k !== 'annotation')
      .map((k) => `${ANNOTATION_PREFIX}${k}`)
      .sort(),
  ).toEqual(annotationNames);
});

const RELEASE_IMAGE = "the release's image";

test.each([
  ['## The sidecar', Object.values(SIDECAR_SETTINGS).filter((s) => !s.name.startsWith('AWS_'))],
  ['## The webhook', Object.values(WEBHOOK_SETTINGS)],
])("docs/configuration.md %s: every variable of the code's table with its default", (heading, settings) => {
  const docs = tableUnder(read('docs/configuration.md'), heading);
  const aws = heading === '## The sidecar' ? SIDECAR_AWS_SETTINGS : WEBHOOK_TLS_AUTO_SETTINGS;
  const expected = new Map<string, string>(
    [...settings, ...aws].map((s) => [s.name, fmt('default' in s ? s.default : undefined)]),
  );
  if (heading === '## The webhook') expected.set(WEBHOOK_SETTINGS.sidecarImage.name, RELEASE_IMAGE);
  expect(Object.fromEntries(docs)).toEqual(Object.fromEntries(expected));
});

test('every environment variable the README names in a table is one the code reads', () => {
  const known = new Set<string>(
    [
      ...Object.values(SIDECAR_SETTINGS),
      ...SIDECAR_AWS_SETTINGS,
      ...Object.values(WEBHOOK_SETTINGS),
      ...WEBHOOK_TLS_AUTO_SETTINGS,
    ].map((s) => s.name),
  );
  for (const line of read('README.md').split('\n')) {
    const m = /^\| `((?:VAULT|AWS)_[A-Z0-9_]+)`/.exec(line);
    if (m) expect(known).toContain(m[1]);
  }
});
