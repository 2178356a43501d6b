/**
 * `scan --topic`: reads a topic from the log start up to the end offsets seen
 * at start with a throwaway consumer group that commits nothing (and is
 * deleted afterwards), counting tokens without any key.
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { WiresealError } from '@wireseal/core';
import type { FieldPolicy } from '@wireseal/core';
import { TokenMalformedError } from '@wireseal/core/errors';
import { HEADER_JWE, headerText, joinToken } from '@wireseal/kafka';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { CliError, ioError } from '../errors.ts';
import { connectKafka, consumeRange, retrying, topicRange } from '../reencrypt/consume.ts';
import type { Progress } from '../reencrypt/progress.ts';
import type { Tally } from './tally.ts';
import { tallyDocument, tallyWhole } from './tally.ts';

/** A topic scan. */
export interface TopicScan {
  brokers: string[];
  topic: string;
  /** `fields`: values are JSON documents (with `policy`); `whole`: framed whole tokens (`wireseal-jwe`). */
  mode: 'fields' | 'whole';
  policy?: FieldPolicy;
  tally: Tally;
  progress: Progress;
  stopRequested: () => boolean;
}

function tallyMessage(scan: TopicScan, m: KafkaMessage): void {
  if (m.value === null) {
    scan.tally.records++;
    scan.tally.tombstones++;
    return;
  }
  const value = m.value;
  if (scan.mode === 'fields') {
    tallyDocument(scan.tally, isUtf8(value) ? value.toString('utf8') : undefined, scan.policy!);
    return;
  }
  const frame = headerText(m.headers, HEADER_JWE);
  tallyWhole(
    scan.tally,
    frame === undefined
      ? undefined
      : () => {
          if (frame === null) throw new TokenMalformedError(`header "${HEADER_JWE}" is repeated or not text`);
          return joinToken(frame, value);
        },
  );
}

/** Runs the scan. @returns whether it was interrupted */
export async function scanTopic(scan: TopicScan): Promise<{ interrupted: boolean }> {
  const { kafka, admin } = await connectKafka(scan.brokers, 'wireseal-scan');
  const group = `wireseal-scan-${scan.topic}-${randomUUID()}`;
  let consumer: Consumer | undefined;
  try {
    if (!(await retrying(() => admin.listTopics())).includes(scan.topic)) throw ioError(`topic "${scan.topic}" does not exist`);
    const range = await topicRange(admin, scan.topic);
    const progressState = () => ({ records: scan.tally.records, done: Number(range.done), total: Number(range.total), failed: 0 });
    scan.progress.begin(progressState());
    consumer = kafka.consumer({ groupId: group, allowAutoTopicCreation: false, maxWaitTimeInMs: 500 });
    await consumer.connect();
    const interrupted = await consumeRange({
      consumer,
      topic: scan.topic,
      range,
      handle: async (_p, messages) => {
        for (const m of messages) tallyMessage(scan, m);
      },
      afterBatch: () => scan.progress.update(progressState()),
      stopRequested: scan.stopRequested,
    });
    return { interrupted };
  } catch (err) {
    if (err instanceof CliError || err instanceof WiresealError) throw err;
    throw ioError(`Kafka scan failed: ${(err as Error).message}`);
  } finally {
    scan.progress.end();
    if (consumer) {
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([group]).catch(() => undefined); // it committed nothing; leave no trace of it
    }
    await admin.disconnect().catch(() => undefined);
  }
}
