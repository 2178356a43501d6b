/**
 * `requireMatch`: policy paths that must be present in a document.
 */
import { FieldMissingError, PolicyInvalidError } from '../errors.ts';
import type { FieldPolicy } from '../policy.ts';

/** @internal The policy paths `requireMatch` names, checked against the policy. */
export function requiredPaths(policy: FieldPolicy, require: boolean | readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (require === undefined || require === false) return undefined;
  const texts = policy.paths.map((p) => p.text);
  if (require === true) return new Set(texts);
  if (!Array.isArray(require)) throw new PolicyInvalidError('requireMatch must be true, false or an array of policy paths');
  for (const r of require) {
    if (!texts.includes(r)) throw new PolicyInvalidError(`requireMatch names ${JSON.stringify(r)}, which is not a path of the policy`);
  }
  return new Set(require);
}

/** @internal Throws `ERR_FIELD_MISSING` when a required path is among the unmatched ones. */
export function checkRequired(unmatched: readonly string[], required: ReadonlySet<string> | undefined, sealing: boolean): void {
  if (!required) return;
  const absent = unmatched.filter((p) => required.has(p));
  if (absent.length > 0) {
    throw new FieldMissingError(
      absent,
      `required policy path${absent.length > 1 ? 's' : ''} ${absent.map((p) => JSON.stringify(p)).join(', ')} matched nothing in the document` +
        (sealing ? ' (requireMatch): nothing was sealed' : ' (requireMatch)'),
    );
  }
}
