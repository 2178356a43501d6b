/** The ```ts block right under the heading line `heading` (literal text, e.g. "## Example"), or the first ```ts block of the file. */
export declare function readmeExample(readme: string | URL, heading?: string): string;
/** Runs TypeScript module code in a fresh Node process; stops early once `until(stdout)` holds (reported as code 0). */
export declare function runExample(
  code: string,
  options: { cwd: string; env?: NodeJS.ProcessEnv; until?: (out: string) => boolean; timeoutMs?: number },
): Promise<{ code: number | null; out: string; err: string }>;
