// The package's folders depend on each other one way only: no folder of src/
// both imports a sibling folder and is imported by it (and no longer cycle
// either), so each can be read, and moved, without the others that use it.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));

/** Folder → the sibling folders its files import from (type-only imports count). */
function folderImports(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const entry of readdirSync(src, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = path.join(entry.parentPath, entry.name);
    const folder = path.relative(src, file).split(path.sep)[0]!;
    if (folder === entry.name) continue; // an entry point at the top of src/
    const uses = graph.get(folder) ?? new Set<string>();
    graph.set(folder, uses);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
      if (!spec!.startsWith('.')) continue;
      const target = path.relative(src, path.resolve(path.dirname(file), spec!)).split(path.sep)[0]!;
      if (target !== folder && !target.endsWith('.ts')) uses.add(target);
    }
  }
  return graph;
}

it('no folder imports a sibling folder that imports it back, directly or around a cycle', () => {
  const graph = folderImports();
  expect(graph.size).toBeGreaterThan(3);
  const cycles: string[] = [];
  const visit = (folder: string, trail: string[]): void => {
    for (const next of graph.get(folder) ?? []) {
      if (trail.includes(next)) cycles.push([...trail.slice(trail.indexOf(next)), next].join(' -> '));
      else visit(next, [...trail, next]);
    }
  };
  for (const folder of graph.keys()) visit(folder, [folder]);
  expect(cycles).toEqual([]);
});
