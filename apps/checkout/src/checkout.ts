/**
 * The checkout client: POSTs payments to payments-api through wireseal's
 * fetch wrapper in field mode, so `card.number`, `card.cvv` and
 * `customer.ssn` leave this process as JWE tokens and everything else stays
 * readable for the gateways and logs on the way.
 */
import type { KeySource } from '@wireseal/core';
import { createFetch } from '@wireseal/http/fetch';
import type { FetchLike } from '@wireseal/http/fetch';
import type { Payment } from './payments.ts';

/** The agreed-upon encrypted attributes of a payment request. */
export const CHECKOUT_POLICY: readonly string[] = Object.freeze(['card.number', 'card.cvv', 'customer.ssn']);

/** Options for {@link createCheckout}. */
export interface CheckoutOptions {
  /** Base URL of payments-api, e.g. `http://127.0.0.1:3001`. Payments go to `<base>/payments`. */
  paymentsUrl: string | URL;
  /** The shared key set (or a provider of it). */
  keys: KeySource;
  /** The fetch to wrap (default `globalThis.fetch`). */
  fetch?: FetchLike;
}

/** What happened to one payment. */
export interface PaymentResult {
  id: string;
  /** HTTP status, or 0 when the request did not complete. */
  status: number;
  /** 201: payments-api authorized it. */
  ok: boolean;
  /** The problem `code` of a refused payment, or `ERR_NETWORK` / a wireseal code for a client-side failure. */
  code?: string;
  /** The decrypted response body (JSON) when there was one. */
  body?: unknown;
}

/** A checkout client. */
export interface Checkout {
  /** Sends one payment; never rejects (failures are in the result). */
  pay(payment: Payment): Promise<PaymentResult>;
}

/** Builds a checkout client for one payments-api. */
export function createCheckout(options: CheckoutOptions): Checkout {
  const url = new URL('payments', String(options.paymentsUrl).replace(/\/?$/, '/'));
  const sfetch = createFetch({
    keys: options.keys,
    mode: 'fields',
    policy: CHECKOUT_POLICY,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return {
    async pay(payment: Payment): Promise<PaymentResult> {
      try {
        const res = await sfetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': payment.id },
          body: JSON.stringify(payment),
        });
        const type = res.headers.get('content-type') ?? '';
        const body: unknown = /json/.test(type) ? await res.json() : await res.text();
        const result: PaymentResult = { id: payment.id, status: res.status, ok: res.status === 201, body };
        if (!result.ok) result.code = typeof (body as { code?: unknown })?.code === 'string' ? (body as { code: string }).code : `HTTP_${res.status}`;
        return result;
      } catch (err) {
        const code = typeof (err as { code?: unknown }).code === 'string' && (err as { code: string }).code.startsWith('ERR_') ? (err as { code: string }).code : 'ERR_NETWORK';
        return { id: payment.id, status: 0, ok: false, code };
      }
    },
  };
}

/** Totals of {@link runCheckout}. */
export interface CheckoutSummary {
  sent: number;
  authorized: number;
  /** Refused or failed payments by code. */
  refused: Record<string, number>;
  ms: number;
}

/** Sends every payment with at most `concurrency` in flight; resolves with the totals. */
export async function runCheckout(checkout: Checkout, payments: readonly Payment[], concurrency = 8): Promise<CheckoutSummary> {
  const t0 = performance.now();
  const summary: CheckoutSummary = { sent: 0, authorized: 0, refused: {}, ms: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < payments.length) {
      const payment = payments[next++]!;
      const r = await checkout.pay(payment);
      summary.sent++;
      if (r.ok) summary.authorized++;
      else summary.refused[r.code ?? 'UNKNOWN'] = (summary.refused[r.code ?? 'UNKNOWN'] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, payments.length)) }, worker));
  summary.ms = Math.round(performance.now() - t0);
  return summary;
}
