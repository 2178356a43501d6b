/**
 * The Kafka codec: seals record values per topic on the way out and opens
 * them on the way in. Keys, timestamps, partitions and the caller's headers
 * are left as they are. The topic is bound as context `{ topic }`, so a
 * record replayed into another topic does not open.
 */
import type { MeterProvider } from '@opentelemetry/api';
import type { ContentKeyReuseOption, Engine, EngineName, FieldKeys, JsonValue, KeySource } from '@wireseal/core';
import { currentKeys, decryptFields, encryptFieldsWithReport, openParts, sealParts } from '@wireseal/core';
import { countOpenedFields, countRejected, countSealedFields, countWhole, reuseBounds } from '@wireseal/core/internal';
import type { MetricAttributes, MetricRecorder } from '@wireseal/core/internal';
import { PlaintextFieldError, PolicyInvalidError, TokenMalformedError, WiresealError } from '@wireseal/core/errors';
import { HEADER_JWE, HEADER_MARKER, frameParts, headerText, stripFraming, unframeParts } from './framing.ts';
import type { ResolvedTopic, TopicConfigs } from './topics.ts';
import { checkKeys, isKeyring, lookupTopic, resolveTopic } from './topics.ts';
import { KAFKA_PACKAGE, kafkaMetrics } from './metrics.ts';

/**
 * Record headers, in the shape kafkajs uses (`IHeaders`) and every wireseal
 * client adapter converts to: header names as strings, values as bytes or
 * text, a repeated name as an array of its values.
 */
export interface RecordHeaders {
  [key: string]: Buffer | string | (Buffer | string)[] | undefined;
}

/**
 * A consumed record as the codec reads it: a kafkajs `KafkaMessage`, or what
 * a client adapter (`@wireseal/kafka/platformatic`) builds from its client's record.
 */
export interface ConsumedRecord {
  /** The record key. */
  key: Buffer | null;
  /** The record value; `null` for a tombstone. */
  value: Buffer | null;
  /** Milliseconds since the epoch, as decimal text. */
  timestamp: string;
  /** Record attributes. */
  attributes: number;
  /** The record offset, as decimal text. */
  offset: string;
  /** Legacy message-set size, when the client reports one. */
  size?: number;
  /** The record headers. */
  headers?: RecordHeaders;
}

/** A record to produce, as `encode` returns it: a kafkajs `Message`. */
export interface ProducedRecord {
  /** The record key. */
  key?: Buffer | string | null;
  /** The (sealed) value. */
  value: Buffer | string | null;
  /** Target partition, when the caller chose one. */
  partition?: number;
  /** The record headers, with wireseal's framing headers added. */
  headers?: RecordHeaders;
  /** Milliseconds since the epoch, as decimal text. */
  timestamp?: string;
}

/** A JSON object or array: a document a field-mode topic carries. */
export type JsonDocument = { [key: string]: JsonValue } | JsonValue[];

/**
 * A message to seal: a kafkajs `Message` (a {@link ProducedRecord}) whose
 * value may also be a JSON document (an object or array), which saves a parse
 * in field mode.
 */
export interface SealableMessage extends Omit<ProducedRecord, 'value'> {
  /** Bytes or text (JSON text in field mode), a JSON document, or `null` (a tombstone: never sealed). */
  value: Buffer | string | JsonDocument | null;
}

/** What wireseal found in a consumed record. */
export interface OpenedInfo {
  /** How the topic is configured. */
  readonly mode: 'fields' | 'whole' | 'plain';
  /**
   * True when at least one wireseal token was opened: field mode, some policy
   * path held a token this reader opened; whole mode, the value was sealed.
   * False for plain topics, tombstones, passed-through whole values, and
   * field-mode records in which no token was opened (nothing there, only
   * plaintext, or only tokens left {@link OpenedInfo.sealed}).
   */
  readonly encrypted: boolean;
  /** Field mode: the decrypted document (already parsed). */
  readonly doc?: JsonValue;
  /** Field mode: the concrete paths that were decrypted. Whole mode: `['$']` when opened. */
  readonly decrypted: readonly string[];
  /**
   * Field mode: the concrete paths whose tokens were handed on exactly as
   * they arrived because this reader holds no keys to open them (an audience
   * missing from its keyring, or one it holds public keys only for). Never a
   * failure. Empty otherwise.
   */
  readonly sealed: readonly string[];
  /** Concrete paths that held plaintext and passed through (`migrate` mode); `['$']` for a whole plaintext record. */
  readonly passedThrough: readonly string[];
  /** Field mode: the policy paths (as the policy writes them) that matched nothing in this record. Empty otherwise. */
  readonly unmatched: readonly string[];
  /** Whole mode: the `kid` of the key that opened the record. */
  readonly kid?: string;
  /** Whole mode: the sealed media type (`cty`), when the producer set one. */
  readonly cty?: string;
}

/**
 * A consumed record after opening: the kafkajs message with the plaintext
 * value and without wireseal's framing headers.
 */
export interface OpenedMessage {
  /** The record key, untouched. */
  key: Buffer | null;
  /**
   * The plaintext value. In field mode this is `JSON.stringify(doc)`: the same
   * data the producer sent, not necessarily the same bytes (computed on first read).
   */
  value: Buffer | null;
  /** The record timestamp, untouched. */
  timestamp: string;
  /** The record attributes, untouched. */
  attributes: number;
  /** The record offset. */
  offset: string;
  /** Legacy message-set size, when kafkajs reports one. */
  size?: number;
  /** The record headers without `wireseal` and `wireseal-jwe`. */
  headers: RecordHeaders;
  /** What wireseal did with this record. */
  wireseal: OpenedInfo;
}

/**
 * Counters kept by a codec (and the producer and consumer wrappers that use
 * it). Each field- or whole-mode record encoded counts once in `encrypted` or
 * `encodedWithoutFields`. Each such record consumed counts once in
 * `decrypted`, `leftSealed`, `passedThrough` or `withoutFields` when it is
 * handed on, or in `deadLettered`, `skipped` or `failed` when a wrapper
 * settles its failure. Plain topics and tombstones count in none.
 * `valuesSealed`, `tokensOpened` and `tokensLeftSealed` count values, not records.
 */
export interface KafkaCodecStats {
  /** Records sealed by `encode` with at least one value sealed (field mode), or with their value sealed (whole mode). */
  encrypted: number;
  /** Field-mode records `encode` handed on with no value at any policy path: nothing to seal (sent with `wireseal: 1`, no token). */
  encodedWithoutFields: number;
  /** Values sealed by `encode`: one per concrete policy path in field mode, one per record in whole mode. */
  valuesSealed: number;
  /** Records handed on with at least one token opened and no plaintext where a token belongs (tokens of other audiences may be left sealed). */
  decrypted: number;
  /** Field-mode records handed on with tokens, none of which this reader could open (all left sealed: their audiences are not in its keyring), and no plaintext. */
  leftSealed: number;
  /** Records handed on with plaintext where tokens belong (`migrate` mode). */
  passedThrough: number;
  /** Field-mode records handed on that held no value at any policy path (nothing was decrypted, nothing passed through). */
  withoutFields: number;
  /** Tokens opened: one per concrete policy path in field mode (also in records that count as `passedThrough`), one per record in whole mode. */
  tokensOpened: number;
  /** Field mode: tokens handed on sealed because this reader holds no keys for their audience, one per concrete policy path (in records of any counter above). */
  tokensLeftSealed: number;
  /** Records that failed to open and were published to a dead-letter topic. */
  deadLettered: number;
  /** Records that failed to open and were skipped (`onFailure: 'skip'`). */
  skipped: number;
  /** Records that failed to open and stopped consumption (`onFailure: 'fail'`). */
  failed: number;
}

/** Where a consumed record came from. */
export interface RecordOrigin {
  /** Source topic. */
  readonly topic: string;
  /** Source partition (`-1` when unknown). */
  readonly partition: number;
  /** Source offset. */
  readonly offset: string;
}

/**
 * `encode` sealed a field-mode record in which some policy paths matched
 * nothing. `paths` are policy paths as the policy writes them (never concrete
 * array paths, never values). The record has no offset yet: `offset` is
 * always undefined, `partition` is the message's, or -1 when kafkajs's
 * partitioner picks it.
 */
export interface UnmatchedEvent {
  readonly type: 'unmatched';
  /** Topic the record was sealed for. */
  readonly topic: string;
  /** The message's `partition`, or -1 when unset. */
  readonly partition: number;
  /** Always undefined: the record is not sent yet. */
  readonly offset?: undefined;
  /** Policy paths that matched nothing in this record. */
  readonly paths: readonly string[];
}

/** Something an operator may want to know about; delivered to `onEvent`. Never holds key bytes or plaintext. */
export type KafkaCodecEvent =
  | UnmatchedEvent
  | (RecordOrigin & { readonly type: 'passed-through'; readonly paths: readonly string[] })
  | (RecordOrigin & { readonly type: 'dead-lettered'; readonly error: WiresealError; readonly dlqTopic: string })
  | (RecordOrigin & { readonly type: 'dead-letter-failed'; readonly error: WiresealError; readonly dlqTopic: string; readonly cause: unknown })
  | (RecordOrigin & { readonly type: 'skipped'; readonly error: WiresealError })
  | (RecordOrigin & { readonly type: 'failed'; readonly error: WiresealError });

/** Options for {@link createKafkaCodec}. */
export interface KafkaCodecOptions {
  /**
   * The keys of every topic without its own: a key provider (refreshing; its
   * current key set is used per record) or a fixed `KeySet`; or, for field
   * topics whose policies have audiences, a keyring (`{ pci: pciKeys, pii:
   * piiProvider }`, `{}` for a reader of none), which serves each field topic
   * with the entries for its policy's audiences. Optional when every
   * encrypted topic sets its own `keys`.
   */
  keys?: FieldKeys;
  /** How each topic is encoded. A topic without a configuration is an error, never silently plaintext. */
  topics: TopicConfigs;
  /** `node` (default on Node) or `noble`, or an engine object. */
  engine?: EngineName | Engine;
  /**
   * Bounded data-key reuse when sealing (`A256KW`): `true` (default: one
   * content key per primary key for up to 2^24 tokens or 5 minutes), bounds
   * `{ maxTokens, maxAgeMs, maxBytes }`, or `false` for a fresh content key
   * per record. Every record is still a standalone JWE; a promoted key is
   * used from the next record on. See docs/format.md §3.3.
   */
  reuseContentKey?: ContentKeyReuseOption;
  /** Receives events (unmatched policy paths on encode, pass-throughs, dead letters, skips, failures). Exceptions it throws are ignored. */
  onEvent?: (event: KafkaCodecEvent) => void;
  /**
   * Where the metrics go (`wireseal.values`, `wireseal.records`,
   * `wireseal.seal.duration`, `wireseal.open.duration`; docs/operations.md
   * §3.1). Default: the global OpenTelemetry meter provider at the time of
   * each recording, a no-op unless the application installs an SDK.
   */
  meterProvider?: MeterProvider;
  /**
   * Put the topic name in the metrics' `topic` attribute. Default `true`: topics
   * are named in the configuration. Set `false` when a topic function accepts
   * an open-ended set of names (a topic per tenant).
   */
  topicAttribute?: boolean;
}

/** @internal The outcome of opening one record. */
export type OpenOutcome = { ok: true; message: OpenedMessage } | { ok: false; error: WiresealError };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const EMPTY: readonly string[] = Object.freeze([]);
const WHOLE: readonly string[] = Object.freeze(['$']);
/**
 * Errors that say nothing about the record: the keys are unavailable or
 * unusable. Thrown, never dead-lettered, so an outage does not flood the DLQ.
 */
const NOT_RECORD_FAILURES: ReadonlySet<string> = new Set(['ERR_KEY_SOURCE', 'ERR_ARGUMENT_INVALID']);

function isDocument(v: unknown): v is JsonDocument {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function opened(message: ConsumedRecord, value: Buffer | null, headers: RecordHeaders, info: OpenedInfo): OpenedMessage {
  const out: OpenedMessage = {
    key: message.key,
    value,
    timestamp: message.timestamp,
    attributes: message.attributes,
    offset: message.offset,
    headers,
    wireseal: info,
  };
  if (message.size !== undefined) out.size = message.size;
  return out;
}

/** A field-mode message whose `value` is serialized only if someone reads it. */
function openedDoc(message: ConsumedRecord, doc: JsonValue, headers: RecordHeaders, info: OpenedInfo): OpenedMessage {
  const out = opened(message, null, headers, info);
  let cached: Buffer | null | undefined;
  Object.defineProperty(out, 'value', {
    enumerable: true,
    configurable: true,
    get: () => (cached ??= Buffer.from(JSON.stringify(doc))),
    set: (v: Buffer | null) => {
      cached = v;
    },
  });
  return out;
}

/**
 * Seals and opens Kafka records per topic. Build one with
 * {@link createKafkaCodec} at start-up and share it between the producer and
 * consumer wrappers; it keeps the counters in {@link KafkaCodec.stats}.
 */
export class KafkaCodec {
  readonly #keys: FieldKeys | undefined;
  readonly #configs: TopicConfigs;
  readonly #engine: EngineName | Engine | undefined;
  readonly #reuse: ContentKeyReuseOption;
  readonly #onEvent: ((event: KafkaCodecEvent) => void) | undefined;
  readonly #topics = new Map<string, ResolvedTopic>();
  readonly #metrics: MetricRecorder;
  readonly #topicAttribute: boolean;
  readonly #stats: KafkaCodecStats = {
    encrypted: 0,
    encodedWithoutFields: 0,
    valuesSealed: 0,
    decrypted: 0,
    leftSealed: 0,
    passedThrough: 0,
    withoutFields: 0,
    tokensOpened: 0,
    tokensLeftSealed: 0,
    deadLettered: 0,
    skipped: 0,
    failed: 0,
  };

  /** Use {@link createKafkaCodec}. */
  constructor(options: KafkaCodecOptions) {
    if (options === null || typeof options !== 'object') throw new PolicyInvalidError('createKafkaCodec needs { keys, topics }');
    const topics = options.topics as unknown;
    if (topics === null || (typeof topics !== 'object' && typeof topics !== 'function')) {
      throw new PolicyInvalidError('createKafkaCodec needs "topics": an object by topic name, or a function');
    }
    if (options.keys !== undefined) checkKeys(options.keys, 'createKafkaCodec');
    this.#keys = options.keys;
    this.#configs = options.topics;
    this.#engine = options.engine;
    this.#reuse = options.reuseContentKey ?? true;
    reuseBounds(this.#reuse); // a bad bound is a configuration error now, not a failure of every record
    this.#onEvent = options.onEvent;
    this.#metrics = kafkaMetrics(options.meterProvider);
    this.#topicAttribute = options.topicAttribute ?? true;
    // Validate the named topics now rather than at the first record.
    if (typeof options.topics === 'object') {
      const used = new Set<string>();
      for (const name of Object.keys(options.topics)) {
        const t = this.topic(name);
        if (t.mode === 'fields' && !t.ownKeys) for (const a of t.policy!.audiences) used.add(a);
      }
      // A keyring audience that no topic has is most likely a typo: its fields would stay sealed unnoticed.
      if (isKeyring(options.keys)) {
        const stray = Object.keys(options.keys).find((a) => !used.has(a));
        if (stray !== undefined) {
          throw new PolicyInvalidError(`createKafkaCodec: the keyring names audience "${stray.slice(0, 64)}", which no field topic that uses the codec's keys has in its policy`);
        }
      }
    }
  }

  /** A snapshot of the counters. */
  get stats(): Readonly<KafkaCodecStats> {
    return { ...this.#stats };
  }

  /**
   * @internal The resolved configuration of a topic.
   * @throws PolicyInvalidError when the topic has no (valid) configuration
   */
  topic(topic: string): ResolvedTopic {
    let t = this.#topics.get(topic);
    if (t === undefined) {
      t = resolveTopic(topic, lookupTopic(this.#configs, topic), this.#keys);
      this.#topics.set(topic, t);
    }
    return t;
  }

  /** @internal Counts and reports an event; never throws. */
  report(counter: keyof KafkaCodecStats | undefined, event?: KafkaCodecEvent): void {
    if (counter) this.#stats[counter]++;
    if (event && this.#onEvent) {
      try {
        this.#onEvent(event);
      } catch {
        // An operator hook must not change what happens to a record.
      }
    }
  }

  /**
   * Seals one message for `topic`: field mode seals the policy fields of the
   * JSON value; whole mode replaces the value with its ciphertext and adds the
   * `wireseal-jwe` header. Both add `wireseal: 1`. Key, partition, timestamp
   * and other headers are kept; `null` values (tombstones) pass unsealed.
   * Field mode reports policy paths that matched nothing as an `unmatched` event.
   * @throws WiresealError `ERR_POLICY_INVALID` for an unconfigured topic, a value that is not JSON (field mode) or a message that already has wireseal headers; `ERR_PLAINTEXT_FIELD` when a policy path meets a member of the wrong shape (field mode: its values would leave unsealed); `ERR_FIELD_MISSING` when a `requireMatch` path matches nothing; `ERR_AUDIENCE_MISSING` when the document has values for an audience the keys lack; `ERR_KEY_SOURCE` when no key set is available
   */
  encode(topic: string, message: SealableMessage): ProducedRecord {
    const start = performance.now();
    try {
      return this.#encode(topic, message, start);
    } catch (err) {
      this.#rejected(err, topic, this.#topics.get(topic)?.mode, 'seal', start);
      throw err;
    }
  }

  /** The attributes of every recording: never a partition, an offset, a record key or a path. */
  #attributes(topic: string, mode: string | undefined, operation: 'seal' | 'open'): MetricAttributes {
    const a: MetricAttributes = { package: KAFKA_PACKAGE, operation };
    if (mode !== undefined) a.mode = mode;
    if (this.#topicAttribute) a.topic = topic;
    return a;
  }

  #rejected(err: unknown, topic: string, mode: string | undefined, operation: 'seal' | 'open', start: number): void {
    const attributes = this.#attributes(topic, mode, operation);
    countRejected(this.#metrics, attributes, err);
    this.#metrics.duration(`${operation}.duration`, start, { ...attributes, outcome: 'rejected' });
  }

  #encode(topic: string, message: SealableMessage, start: number): ProducedRecord {
    const t = this.topic(topic);
    const value = message.value;
    if (t.mode === 'plain') return isDocument(value) ? { ...message, value: JSON.stringify(value) } : (message as ProducedRecord);
    if (value === null || value === undefined) return message as ProducedRecord;
    const headers = message.headers;
    if (headers !== undefined && (headers[HEADER_MARKER] !== undefined || headers[HEADER_JWE] !== undefined)) {
      throw new PolicyInvalidError(`topic "${topic}": message already carries "${HEADER_MARKER}" headers; refusing to seal it again`);
    }
    if (t.mode === 'fields') {
      let doc: unknown = value;
      if (!isDocument(value)) {
        try {
          doc = JSON.parse(typeof value === 'string' ? value : utf8.decode(value));
        } catch {
          throw new PolicyInvalidError(`topic "${topic}" is in fields mode: the message value must be a JSON document`);
        }
      }
      // The report costs a few string concatenations per sealed value (measured: within noise of encryptFields).
      const r = encryptFieldsWithReport(t.keys!, doc, t.policy!, { context: t.context, alg: t.alg, engine: this.#engine, limits: t.limits, requireMatch: t.requireMatch, reuseContentKey: this.#reuse });
      const out: ProducedRecord = { ...message, value: JSON.stringify(r.doc), headers: { ...headers, [HEADER_MARKER]: '1' } };
      const attributes = this.#attributes(topic, 'fields', 'seal');
      const outcome = countSealedFields(this.#metrics, attributes, t.policy!, t.keys, r);
      this.#metrics.duration('seal.duration', start, { ...attributes, outcome });
      const n = r.sealed.length;
      if (n > 0) {
        this.#stats.encrypted++;
        this.#stats.valuesSealed += n;
      } else {
        this.#stats.encodedWithoutFields++;
      }
      if (r.unmatched.length > 0) this.report(undefined, { type: 'unmatched', topic, partition: message.partition ?? -1, paths: r.unmatched });
      return out;
    }
    const bytes = isDocument(value) ? JSON.stringify(value) : value;
    const keys = currentKeys(t.keys as KeySource);
    const split = frameParts(sealParts(keys, bytes, { context: t.context, alg: t.alg, cty: t.cty, engine: this.#engine, reuseContentKey: this.#reuse }));
    const attributes = this.#attributes(topic, 'whole', 'seal');
    countWhole(this.#metrics, attributes, 'sealed', keys.primaryKid);
    this.#metrics.duration('seal.duration', start, { ...attributes, outcome: 'sealed' });
    this.#stats.encrypted++;
    this.#stats.valuesSealed++;
    return { ...message, value: split.value, headers: { ...headers, [HEADER_MARKER]: '1', [HEADER_JWE]: split.frame } };
  }

  /**
   * Opens one consumed record of `topic`. Records that fail throw; use the
   * consumer wrappers to get the failure policy (dead-letter, fail, skip).
   * @param partition - for events only
   * @throws WiresealError with the record's failure code, `ERR_POLICY_INVALID` for an unconfigured topic, or `ERR_KEY_SOURCE`
   */
  decode(topic: string, message: ConsumedRecord, partition = -1): OpenedMessage {
    const t = this.topic(topic);
    const outcome = this.open(t, message, partition);
    if (!outcome.ok) throw outcome.error;
    return outcome.message;
  }

  /**
   * @internal Opens a record with the keys in force now (per record, so
   * rotation needs no restart). Failures of the record itself come back as
   * `{ ok: false }`. Anything else throws: a key source without a usable key
   * set (`ERR_KEY_SOURCE`; in field mode only for records holding tokens of
   * its audience), keys that core refuses (`ERR_ARGUMENT_INVALID`), a bug.
   */
  open(t: ResolvedTopic, message: ConsumedRecord, partition: number): OpenOutcome {
    const start = performance.now();
    try {
      return { ok: true, message: this.#open(t, message, partition, start) };
    } catch (err) {
      // Every refusal counts, key-source outages (thrown, redelivered) once per attempt.
      this.#rejected(err, t.topic, t.mode, 'open', start);
      if (err instanceof WiresealError && !NOT_RECORD_FAILURES.has(err.code)) return { ok: false, error: err };
      throw err;
    }
  }

  #passed(t: ResolvedTopic, message: ConsumedRecord, partition: number, paths: readonly string[]): void {
    this.report('passedThrough', { type: 'passed-through', topic: t.topic, partition, offset: message.offset, paths });
  }

  #open(t: ResolvedTopic, message: ConsumedRecord, partition: number, start: number): OpenedMessage {
    const value = message.value;
    const headers = message.headers;
    if (t.mode === 'plain' || value === null) {
      return opened(message, value, stripFraming(headers), { mode: t.mode, encrypted: false, decrypted: EMPTY, sealed: EMPTY, passedThrough: EMPTY, unmatched: EMPTY });
    }
    if (t.mode === 'fields') {
      let doc: unknown;
      try {
        doc = JSON.parse(utf8.decode(value));
      } catch {
        throw new TokenMalformedError(`record on fields-mode topic "${t.topic}" is not UTF-8 JSON`);
      }
      const r = decryptFields(t.keys!, doc, t.policy!, { mode: t.decryptMode, context: t.context, engine: this.#engine, limits: t.limits, requireMatch: t.requireMatch });
      const attributes = this.#attributes(t.topic, 'fields', 'open');
      const outcome = countOpenedFields(this.#metrics, attributes, t.policy!, t.keys, r);
      this.#metrics.duration('open.duration', start, { ...attributes, outcome });
      const n = r.decrypted.length;
      const kept = r.sealed.length;
      const info: OpenedInfo = { mode: 'fields', encrypted: n > 0, doc: r.doc, decrypted: r.decrypted, sealed: kept > 0 ? r.sealed : EMPTY, passedThrough: r.passedThrough, unmatched: r.unmatched };
      this.#stats.tokensOpened += n;
      this.#stats.tokensLeftSealed += kept;
      if (r.passedThrough.length > 0 || r.legacy.length > 0) this.#passed(t, message, partition, r.passedThrough);
      else if (n > 0) this.#stats.decrypted++;
      else if (kept > 0) this.#stats.leftSealed++; // tokens, none of them this reader's
      else this.#stats.withoutFields++; // no value at any policy path: nothing was decrypted
      return openedDoc(message, r.doc, stripFraming(headers), info);
    }
    // Asked first, as for every whole-value record: an outage is thrown (not a record failure) whatever the record holds.
    const keys = currentKeys(t.keys as KeySource);
    const marker = headerText(headers, HEADER_MARKER);
    const frame = headerText(headers, HEADER_JWE);
    if (marker === undefined && frame === undefined) {
      if (t.decryptMode === 'strict') {
        throw new PlaintextFieldError('$', `record on whole-value topic "${t.topic}" has no wireseal headers: plaintext where ciphertext belongs (strict mode)`);
      }
      this.#passed(t, message, partition, WHOLE);
      const attributes = this.#attributes(t.topic, 'whole', 'open');
      countWhole(this.#metrics, attributes, 'passed_through', undefined);
      this.#metrics.duration('open.duration', start, { ...attributes, outcome: 'passed_through' });
      return opened(message, value, stripFraming(headers), { mode: 'whole', encrypted: false, decrypted: EMPTY, sealed: EMPTY, passedThrough: WHOLE, unmatched: EMPTY });
    }
    if (marker !== '1') throw new TokenMalformedError(`record header "${HEADER_MARKER}" must be exactly one "1"`);
    if (typeof frame !== 'string') throw new TokenMalformedError(`record has "${HEADER_MARKER}: 1" but not exactly one "${HEADER_JWE}" header`);
    const { plaintext, header } = openParts(keys, unframeParts(frame, value), { context: t.context, engine: this.#engine });
    this.#stats.decrypted++;
    this.#stats.tokensOpened++;
    const attributes = this.#attributes(t.topic, 'whole', 'open');
    countWhole(this.#metrics, attributes, 'opened', typeof header.kid === 'string' ? header.kid : undefined);
    this.#metrics.duration('open.duration', start, { ...attributes, outcome: 'opened' });
    const info: OpenedInfo = { mode: 'whole', encrypted: true, decrypted: WHOLE, sealed: EMPTY, passedThrough: EMPTY, unmatched: EMPTY, kid: header.kid, cty: header.cty };
    return opened(message, asBuffer(plaintext), stripFraming(headers), info);
  }
}

/**
 * Creates a codec for the given keys and topic configurations.
 * @example
 * const codec = createKafkaCodec({
 *   keys: provider,
 *   topics: {
 *     payments: { mode: 'fields', policy: { fields: ['card.number', 'card.cvv'] } },
 *     documents: { mode: 'whole', cty: 'application/pdf' },
 *   },
 * });
 * @throws WiresealError `ERR_POLICY_INVALID` when a named topic's configuration is invalid
 */
export function createKafkaCodec(options: KafkaCodecOptions): KafkaCodec {
  return new KafkaCodec(options);
}
