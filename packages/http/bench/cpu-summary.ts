// Self time per function of a V8 .cpuprofile, shared by top.ts (summarises a
// profile file) and cpu-profile.ts (profiles the bench server, then summarises).

export interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/**
 * Self time (µs) per node id, and per function keyed "name url:line" (package
 * paths under node_modules/.pnpm and the checkout prefix shortened); the
 * `(idle)` function is kept, callers filter it.
 */
export function selfTime(prof: CpuProfile): { byNode: Map<number, number>; byFunction: Map<string, number> } {
  const self = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i]!, (self.get(prof.samples[i]!) ?? 0) + (prof.timeDeltas[i] ?? 0));
  const byFn = new Map<string, number>();
  for (const n of prof.nodes) {
    const t = self.get(n.id) ?? 0;
    if (!t) continue;
    const url = n.callFrame.url.replace(/^file:\/\/.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '');
    const key = `${n.callFrame.functionName || '(anon)'} ${url}:${n.callFrame.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + t);
  }
  return { byNode: self, byFunction: byFn };
}
