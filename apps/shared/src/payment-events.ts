/**
 * The `payment.authorized` event as every sample service sees it: its topic
 * and its field policy. The policy splits the sealed fields between two
 * audiences (docs/design.md, "Audiences and record binding"):
 *
 * - `pci`: `card.number`, sealed to an X25519 public key. payments-api holds
 *   only the public key (it seals, it cannot open); the ledger holds the
 *   private key.
 * - `pii`: `customer.ssn`, under a shared key that payments-api and the fraud
 *   scorer hold.
 *
 * Every token is bound to the event's `id` (`bind`), so a token copied into
 * another event does not open (`ERR_CONTEXT_MISMATCH`). A consumer holds the
 * audiences it needs, or none (analytics); tokens of the others reach it
 * exactly as they were sent.
 *
 * @module
 */
import type { FieldPolicyJson } from '@wireseal/core';

/** Default topic of `payment.authorized` events. */
export const PAYMENTS_TOPIC = 'payments.authorized';

/** The audiences of {@link EVENT_POLICY}. */
export const EVENT_AUDIENCES: readonly string[] = Object.freeze(['pci', 'pii']);

/** The agreed-upon encrypted attributes of a `payment.authorized` event, by audience, bound to the event id. */
export const EVENT_POLICY: FieldPolicyJson = Object.freeze({
  audiences: Object.freeze({ pci: Object.freeze(['card.number']), pii: Object.freeze(['customer.ssn']) }),
  bind: Object.freeze(['id']),
}) as unknown as FieldPolicyJson;
