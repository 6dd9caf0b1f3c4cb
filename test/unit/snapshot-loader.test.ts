import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRawSnapshot, type RawSnapshot } from '../../collector/snapshot/loader';
import { loadSnapshot } from '../../collector/snapshot';
import { FileNotFoundError, InvalidInputError } from '../../cli/errors';
import { SnapshotBuilder } from './snapshot-builder';

const TRICKY = ['plain', 'quote " and backslash \\ here', 'line\nbreak\ttab', '日本語のキー', 'emoji 😀 pair', 'sep \u2028 \u2029', 'ctl \u0001', ''];

function sample(): { json: string; parsed: Record<string, unknown> } {
  const b = new SnapshotBuilder();
  const g = b.gcRoot('(Global handles)');
  let prev = g;
  for (const [i, s] of TRICKY.entries()) {
    const n = b.node(s, 'string', 1234567 + i);
    prev.edge('property', `p${i}`, n);
    const o = b.node(`Obj${i}`, 'closure', 4294967295 - i).location(3, 100 + i, 12345);
    n.edge('internal', 'x', o);
    prev = o;
  }
  const json = b.toString();
  return { json, parsed: JSON.parse(json) as Record<string, unknown> };
}

/** Escapes non-ASCII as \uXXXX the way V8's serializer does. */
function asciiEscaped(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function chunks(text: string, size: number): Readable {
  const buf = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let o = 0; o < buf.length; o += size) parts.push(buf.subarray(o, o + size));
  return Readable.from(parts);
}

function storeToArray(s: RawSnapshot['nodes']): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) out.push(s.get(i));
  return out;
}

function check(raw: RawSnapshot, parsed: Record<string, unknown>): void {
  assert.deepEqual(storeToArray(raw.nodes), parsed.nodes);
  const edges = (parsed.edges as number[]).map((v, i) => (i % 3 === 2 ? v / 7 : v));
  assert.deepEqual(storeToArray(raw.edges), edges);
  assert.deepEqual(raw.strings, parsed.strings);
  const locs = (parsed.locations as number[]).map((v, i) => (i % 4 === 0 ? v / 7 : v));
  assert.deepEqual([...raw.locations], locs);
}

test('loader: every chunk size splits numbers, strings, escapes and UTF-8 sequences, same result as JSON.parse', async () => {
  const { json, parsed } = sample();
  for (const text of [json, asciiEscaped(json)]) {
    for (const size of [1, 2, 3, 5, 7, 64, 4096]) {
      const raw = await loadRawSnapshot(chunks(text, size), { progress: false });
      check(raw, parsed);
    }
  }
});

test('loader: split-array fallback (test hook) holds the same data', async () => {
  const { json, parsed } = sample();
  const raw = await loadRawSnapshot(chunks(json, 13), { progress: false, forceSplit: true, splitShift: 2 });
  assert.equal(raw.nodes.split, true);
  assert.equal(raw.edges.split, true);
  check(raw, parsed);
  const flat = await loadSnapshot(chunks(json, 4096), { progress: false });
  const split = await loadSnapshot(chunks(json, 4096), { progress: false, forceSplit: true, splitShift: 3 });
  assert.equal(split.retainingEdges.split, true);
  for (let i = 0; i < flat.nodeCount; i++) {
    assert.deepEqual(split.retainers(i), flat.retainers(i));
    assert.deepEqual(split.references(i), flat.references(i));
  }
});

test('loader: reads from a path, with sections in any order and unknown sections skipped', async () => {
  const { parsed } = sample();
  const reordered = { snapshot: parsed.snapshot, strings: parsed.strings, extra: { a: [1, '}]'], b: 'x' }, locations: parsed.locations, edges: parsed.edges, nodes: parsed.nodes, n: 5 };
  const dir = mkdtempSync(join(tmpdir(), 'snap-'));
  const file = join(dir, 'r.heapsnapshot');
  writeFileSync(file, JSON.stringify(reordered, null, 1));
  const raw = await loadRawSnapshot(file, { progress: false, chunkSize: 3 });
  check(raw, parsed);
});

test('loader: coded errors for missing, truncated and foreign files', async () => {
  const { json } = sample();
  await assert.rejects(loadRawSnapshot('/nonexistent/x.heapsnapshot', { progress: false }), FileNotFoundError);
  await assert.rejects(loadRawSnapshot(chunks(json.slice(0, json.length - 40), 50), { progress: false }), InvalidInputError);
  await assert.rejects(loadRawSnapshot(chunks('{"name":"x","version":1}', 5), { progress: false }), InvalidInputError);
  await assert.rejects(loadRawSnapshot(chunks('hello', 5), { progress: false }), InvalidInputError);
  const more = json.replace('"node_count":', '"node_count":1+');
  await assert.rejects(loadRawSnapshot(chunks(more, 64), { progress: false }), InvalidInputError);
});
