/**
 * payments-api: a Fastify service. `POST /payments` takes field-sealed
 * payments (wireseal opens `card.number`, `card.cvv`, `customer.ssn` before
 * the handler runs, and refuses anything that does not open with a
 * problem+json), validates them, publishes `payment.authorized` with the card
 * number and SSN sealed for their audiences and the topic, and answers 201.
 * With the first event it tries to open what it sealed, with its own keys:
 * the card number stays sealed (it holds the pci audience's public key only). `POST /payouts` is a plaintext
 * internal route meant to sit behind the gateway, which does the sealing.
 */
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import type { FastifyReply } from 'fastify';
import type { CombinedKeySourceHealth, KeySource } from '@wireseal/core';
import { probeAnswer, serviceHealth } from '@wireseal-apps/shared/health';
import { wiresealFastify } from '@wireseal/http/fastify';
import type { EventPublisher, OwnEventCheck, PaymentsKafkaOptions } from './events.ts';
import { authorizedEvent, connectPublisher } from './events.ts';
import type { PaymentRequest } from './validate.ts';
import { ibanValid, invalidPaymentPaths } from './validate.ts';

/** The agreed-upon encrypted attributes of a payment request. */
export const PAYMENT_POLICY: readonly string[] = Object.freeze(['card.number', 'card.cvv', 'customer.ssn']);

/** Options for {@link startPaymentsApi}. */
export interface PaymentsApiOptions {
  /** The key set shared with checkout for the sealed request fields, or its provider (await its `ready()` first). */
  keys: KeySource;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Publish `payment.authorized` to Kafka, sealed with `kafka.keys` (a keyring); without it nothing is published (the HTTP-only demo). */
  kafka?: PaymentsKafkaOptions;
  /** Receives operational events (wireseal failures by code, publish failures); never plaintext. */
  onEvent?: (event: Record<string, unknown>) => void;
  /** What `GET /readyz` reports. Default: the health of `keys` (as `keys`) and of `kafka.keys` (as `events`). */
  health?: () => CombinedKeySourceHealth;
}

/** Counters of a running payments-api. */
export interface PaymentsApiStats {
  /** Requests to POST /payments that opened and reached the handler. */
  received: number;
  /** Sealed fields opened in those requests. */
  fieldsDecrypted: number;
  authorized: number;
  /** Refused by validation (422 PAYMENT_INVALID). */
  invalid: number;
  published: number;
  publishFailed: number;
  /** Requests refused by wireseal before the handler, by code. */
  refusedByCode: Record<string, number>;
  /** Requests to POST /payouts (the gateway's upstream). */
  payouts: number;
  /** Its attempt to open the first event it published, with its own keys (null before the first event). */
  ownEventCheck: OwnEventCheck | null;
}

/** A running payments-api. */
export interface PaymentsApi {
  readonly url: string;
  /** Kafka topic of the events, when publishing. */
  readonly topic: string | undefined;
  stats(): PaymentsApiStats;
  stop(): Promise<void>;
}

function problem(reply: FastifyReply, status: number, code: string, title: string, detail: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/problem+json')
    .send(JSON.stringify({ type: `urn:wireseal-apps:payments:${code.toLowerCase()}`, title, status, code, detail }));
}

/** Starts payments-api on loopback; resolves once it listens (and the Kafka producer is connected). */
export async function startPaymentsApi(options: PaymentsApiOptions): Promise<PaymentsApi> {
  const emit = options.onEvent ?? (() => {});
  const stats: PaymentsApiStats = { received: 0, fieldsDecrypted: 0, authorized: 0, invalid: 0, published: 0, publishFailed: 0, refusedByCode: {}, payouts: 0, ownEventCheck: null };
  let publisher: EventPublisher | undefined;
  if (options.kafka) {
    publisher = await connectPublisher({
      ...options.kafka,
      onEvent: (e) => emit({ event: `kafka-${e.type}`, topic: e.topic, code: 'error' in e ? e.error.code : undefined }),
    });
  }

  /** Opens one of its own events with its own keys, to show (and log) what it cannot read. */
  const checkOwnEvent = (pub: EventPublisher, sealed: string): void => {
    try {
      stats.ownEventCheck = pub.tryOpen(sealed);
      emit({ event: 'own-event-open', ...stats.ownEventCheck });
    } catch (err) {
      emit({ event: 'own-event-open-failed', code: (err as { code?: string }).code ?? 'ERR_INTERNAL' });
    }
  };

  const app = Fastify({ logger: false });
  await app.register(wiresealFastify, {
    keys: options.keys,
    onError: (_err, info) => {
      stats.refusedByCode[info.code] = (stats.refusedByCode[info.code] ?? 0) + 1;
      emit({ event: 'wireseal-refused', phase: info.phase, method: info.method, path: info.path, status: info.status, code: info.code });
    },
  });

  app.post('/payments', { config: { wireseal: { mode: 'fields', policy: PAYMENT_POLICY } } }, async (request, reply) => {
    stats.received++;
    stats.fieldsDecrypted += request.wireseal?.decrypted?.length ?? 0;
    const bad = invalidPaymentPaths(request.body);
    if (bad.length > 0) {
      stats.invalid++;
      return problem(reply, 422, 'PAYMENT_INVALID', 'Invalid payment', `invalid or missing: ${bad.join(', ')}`);
    }
    const payment = request.body as PaymentRequest;
    const authorizationCode = randomBytes(4).toString('hex').toUpperCase();
    if (publisher) {
      try {
        const sealed = await publisher.publish(authorizedEvent(payment, authorizationCode));
        stats.published++;
        if (!stats.ownEventCheck) checkOwnEvent(publisher, sealed);
      } catch (err) {
        stats.publishFailed++;
        emit({ event: 'publish-failed', error: (err as Error).name });
        return problem(reply, 503, 'PUBLISH_FAILED', 'Payment not recorded', 'the payment event could not be published, so the payment was not authorized; retry later');
      }
    }
    stats.authorized++;
    return reply.code(201).send({
      id: payment.id,
      status: 'authorized',
      authorization: { code: authorizationCode },
      card: { last4: payment.card.number.slice(-4) },
      published: publisher !== undefined,
    });
  });

  // Plaintext on purpose: the gateway in front of it opens and seals for the partner.
  app.post('/payouts', async (request, reply) => {
    stats.payouts++;
    const body = request.body as { partner?: unknown; amount?: { value?: unknown; currency?: unknown }; beneficiary?: { name?: unknown; iban?: unknown } } | null;
    const bad: string[] = [];
    if (typeof body?.partner !== 'string') bad.push('partner');
    if (!(Number.isInteger(body?.amount?.value) && (body!.amount!.value as number) > 0)) bad.push('amount.value');
    if (typeof body?.amount?.currency !== 'string' || !/^[A-Z]{3}$/.test(body.amount.currency)) bad.push('amount.currency');
    if (typeof body?.beneficiary?.name !== 'string') bad.push('beneficiary.name');
    if (!ibanValid(body?.beneficiary?.iban)) bad.push('beneficiary.iban');
    if (bad.length > 0) return problem(reply, 422, 'PAYOUT_INVALID', 'Invalid payout', `invalid or missing: ${bad.join(', ')}`);
    return reply.code(201).send({
      payoutId: `po_${randomBytes(6).toString('hex')}`,
      status: 'scheduled',
      amount: body!.amount,
      beneficiary: { name: body!.beneficiary!.name, iban: body!.beneficiary!.iban },
    });
  });

  app.get('/health', async () => ({ ok: true }));
  // Probes (see @wireseal-apps/shared/health): /healthz while the process answers, /readyz while its key sources are usable.
  const health = options.health ?? (() => serviceHealth({ keys: options.keys, ...(options.kafka ? { events: options.kafka.keys } : {}) }));
  for (const probePath of ['/healthz', '/readyz']) {
    app.get(probePath, async (request, reply) => {
      const answer = probeAnswer(request.url, health)!;
      return reply.code(answer.status).header('cache-control', 'no-store').send(answer.body);
    });
  }
  app.get('/stats', async () => stats);

  let url: string;
  try {
    url = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  } catch (err) {
    await publisher?.close();
    throw err;
  }
  return {
    url,
    topic: publisher?.topic,
    stats: () => structuredClone(stats),
    async stop() {
      await app.close();
      await publisher?.close();
    },
  };
}
