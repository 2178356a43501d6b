/**
 * What `wireseal scan` counts: per record, the values at policy paths (or the
 * whole value) classified as `inspect --policy` does, without any key.
 * Tokens are counted per kid, alg and audience; plaintext values per policy
 * path (never kept or shown).
 */
import { WiresealError } from '@wireseal/core';
import type { FieldPolicy } from '@wireseal/core';
import { inspectDocument, inspectToken } from '../commands/inspect.ts';
import { bump } from '../reencrypt/summary.ts';

/**
 * The totals of a scan:
 * - `records`: records read (blank JSONL lines excluded; Kafka tombstones included);
 *   `notJson`: records that are not JSON (or not UTF-8), fields mode; `tombstones`:
 *   Kafka records without a value;
 * - `tokens`: tokens that decode (header and segments); `tokensWithoutKid`: those whose
 *   header names no kid (no key could open them); `malformed`: token-shaped values that
 *   do not decode;
 * - `plaintext`: values at policy paths that are not tokens (whole mode: records
 *   without a `wireseal-jwe` header); `misfits`: members of the wrong shape on a policy
 *   path (an object where an array is expected, ...).
 */
export type TallyTotal = 'records' | 'notJson' | 'tombstones' | 'tokens' | 'tokensWithoutKid' | 'malformed' | 'plaintext' | 'misfits';

/**
 * The breakdowns of a scan: tokens per kid, per alg and per audience (every audience
 * of the policy listed, `default` for a `fields` policy; empty for whole values);
 * plaintext values and misfits per policy path (`$` for whole values).
 */
export type TallyBreakdown = 'tokensByKid' | 'tokensByAlg' | 'tokensByAudience' | 'plaintextByPath' | 'misfitsByPath';

/** The counts of a scan: its {@link TallyTotal} totals and {@link TallyBreakdown} breakdowns. */
export type Tally = Record<TallyTotal, number> & Record<TallyBreakdown, Record<string, number>>;

/** Fresh counts; every audience of `policy` starts at 0. */
export function newTally(policy?: FieldPolicy): Tally {
  const tokensByAudience: Record<string, number> = {};
  for (const a of policy?.audiences ?? []) bump(tokensByAudience, a, 0);
  return { records: 0, notJson: 0, tombstones: 0, tokens: 0, tokensByKid: {}, tokensByAlg: {}, tokensByAudience, tokensWithoutKid: 0, malformed: 0, plaintext: 0, plaintextByPath: {}, misfits: 0, misfitsByPath: {} };
}

function addToken(t: Tally, kid: string | undefined, alg: string, audience: string | undefined): void {
  t.tokens++;
  if (kid === undefined) t.tokensWithoutKid++;
  else bump(t.tokensByKid, kid);
  bump(t.tokensByAlg, alg);
  if (audience !== undefined) bump(t.tokensByAudience, audience);
}

/** Counts one record of fields mode: its text, or undefined when it is not text (not UTF-8). */
export function tallyDocument(t: Tally, text: string | undefined, policy: FieldPolicy): void {
  t.records++;
  let doc: unknown;
  try {
    if (text === undefined) throw new SyntaxError('not UTF-8');
    doc = JSON.parse(text);
  } catch {
    t.notJson++;
    return;
  }
  for (const f of inspectDocument(doc, policy).fields) {
    if (f.state === 'token') addToken(t, f.kid, f.alg ?? 'undefined', f.audience);
    else if (f.state === 'malformed') t.malformed++;
    else if (f.state === 'misfit') {
      t.misfits++;
      bump(t.misfitsByPath, f.policyPath);
    } else {
      t.plaintext++;
      bump(t.plaintextByPath, f.policyPath);
    }
  }
}

/**
 * Counts one whole-value record: `token` is the compact token rebuilt from its
 * frame, or a function that rebuilds it (and throws a WiresealError for a bad
 * frame); undefined when the record has no frame (plaintext).
 */
export function tallyWhole(t: Tally, token: (() => string) | undefined): void {
  t.records++;
  if (token === undefined) {
    t.plaintext++;
    bump(t.plaintextByPath, '$');
    return;
  }
  try {
    const h = inspectToken(token()).header;
    addToken(t, typeof h.kid === 'string' ? h.kid : undefined, String(h.alg), undefined);
  } catch (err) {
    if (!(err instanceof WiresealError)) throw err;
    t.malformed++;
  }
}
