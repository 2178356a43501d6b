/**
 * ledger-worker: consumes `payment.authorized` events, opens the sealed
 * fields with the shared key set, and appends one line per payment to a ledger
 * file (card number masked to its last four digits, no SSN). A record that
 * does not open (tampered, sealed for another topic, unknown key, not JSON)
 * goes to the dead-letter topic intact, with its error code in a header, and
 * is never lost. A small HTTP server reports the counters.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeySource } from '@wireseal/core';
import { createKafkaCodec, wiresealEachMessage } from '@wireseal/kafka';
import type { KafkaCodecEvent, KafkaCodecStats, OpenedMessagePayload } from '@wireseal/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { luhnValid } from '@wireseal-apps/shared/sample-payments';

/** The encrypted attributes of a `payment.authorized` event (same as payments-api's). */
export const EVENT_POLICY: readonly string[] = Object.freeze(['card.number', 'customer.ssn']);

/** Options for {@link startLedgerWorker}. */
export interface LedgerWorkerOptions {
  /** The shared key set or its provider (await its `ready()` first). */
  keys: KeySource;
  /** Bootstrap brokers. */
  brokers: string[];
  /** Source topic. Default `payments.authorized`. */
  topic?: string;
  /** Dead-letter topic. Default `<topic>.dlq`. */
  dlqTopic?: string;
  /** Consumer group. Default `ledger-worker`. */
  groupId?: string;
  /** The ledger: one JSON line per payment, appended (created with mode 0600). */
  ledgerFile: string;
  /** Status server host/port. Default 127.0.0.1, a free port. */
  host?: string;
  port?: number;
  /** How long to wait for the consumer group join. Default 60 s. */
  joinTimeoutMs?: number;
  /** Operational events (dead letters with their codes, ledger appends are not reported); never plaintext. */
  onEvent?: (event: Record<string, unknown>) => void;
}

/** Counters of a running worker. */
export interface LedgerStats extends KafkaCodecStats {
  /** Lines appended to the ledger. */
  appended: number;
  /** Appended payments whose decrypted card number is Luhn-valid and ends in the event's plaintext `last4`. */
  verified: number;
  /** Dead-lettered records by error code. */
  deadLetteredByCode: Record<string, number>;
}

/** A running worker. */
export interface LedgerWorker {
  /** Status server: `GET /stats`, `GET /health`. */
  readonly url: string;
  readonly topic: string;
  readonly dlqTopic: string;
  stats(): LedgerStats;
  stop(): Promise<void>;
}

interface EventDoc {
  id?: unknown;
  occurredAt?: unknown;
  merchant?: unknown;
  amount?: { value?: unknown; currency?: unknown };
  authorization?: { code?: unknown };
  card?: { number?: unknown; last4?: unknown };
  customer?: { name?: unknown };
}

/** Starts consuming; resolves once the consumer joined its group and the status server listens. */
export async function startLedgerWorker(options: LedgerWorkerOptions): Promise<LedgerWorker> {
  const topic = options.topic ?? 'payments.authorized';
  const dlqTopic = options.dlqTopic ?? `${topic}.dlq`;
  const emit = options.onEvent ?? (() => {});
  let appended = 0;
  let verified = 0;
  const deadLetteredByCode: Record<string, number> = {};

  const codec = createKafkaCodec({
    keys: options.keys,
    topics: { [topic]: { mode: 'fields', policy: EVENT_POLICY } },
    onEvent: (e: KafkaCodecEvent) => {
      if (e.type === 'dead-lettered') deadLetteredByCode[e.error.code] = (deadLetteredByCode[e.error.code] ?? 0) + 1;
      emit({ event: `kafka-${e.type}`, topic: e.topic, partition: e.partition, offset: e.offset, ...('error' in e ? { code: e.error.code } : {}) });
    },
  });

  const kafka = new Kafka({ clientId: 'ledger-worker', brokers: options.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [topic, dlqTopic].filter((t) => !existing.has(t));
    if (missing.length > 0) await admin.createTopics({ topics: missing.map((t) => ({ topic: t, numPartitions: 1 })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }

  const ledger = await fs.open(options.ledgerFile, 'a', 0o600);
  const dlqProducer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: options.groupId ?? 'ledger-worker', allowAutoTopicCreation: false });
  const cleanup = async (): Promise<void> => {
    await consumer.disconnect().catch(() => undefined);
    await dlqProducer.disconnect().catch(() => undefined);
    await ledger.close().catch(() => undefined);
  };

  const handle = async ({ partition, message }: OpenedMessagePayload): Promise<void> => {
    const doc = (message.wireseal.doc ?? {}) as EventDoc;
    const number = typeof doc.card?.number === 'string' ? doc.card.number : '';
    const ok = luhnValid(number) && number.slice(-4) === doc.card?.last4;
    const line = {
      partition,
      offset: message.offset,
      id: doc.id,
      occurredAt: doc.occurredAt,
      merchant: doc.merchant,
      amount: doc.amount?.value,
      currency: doc.amount?.currency,
      authorization: doc.authorization?.code,
      card: `**** ${number.slice(-4)}`,
      customer: doc.customer?.name,
      verified: ok,
    };
    await ledger.write(`${JSON.stringify(line)}\n`);
    appended++;
    if (ok) verified++;
  };

  let server: http.Server | undefined;
  try {
    await dlqProducer.connect();
    await consumer.connect();
    const joined = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('ledger-worker: consumer group join timed out')), options.joinTimeoutMs ?? 60_000);
      consumer.on(consumer.events.GROUP_JOIN, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: wiresealEachMessage(codec, handle, { deadLetter: { producer: dlqProducer, topic: dlqTopic } }) });
    await joined;

    const stats = (): LedgerStats => ({ ...codec.stats, appended, verified, deadLetteredByCode: { ...deadLetteredByCode } });
    server = http.createServer((req, res) => {
      const body = req.url === '/stats' ? stats() : req.url === '/health' ? { ok: true } : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { error: 'not found' }));
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
    });
    const { address, port } = server.address() as AddressInfo;
    const srv = server;
    return {
      url: `http://${address}:${port}`,
      topic,
      dlqTopic,
      stats,
      async stop() {
        await new Promise<void>((resolve) => srv.close(() => resolve()));
        await cleanup();
      },
    };
  } catch (err) {
    server?.close();
    await cleanup();
    throw err;
  }
}
