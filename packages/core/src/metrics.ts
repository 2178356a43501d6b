/**
 * What the wireseal codecs measure, written once: the instruments (names,
 * units, meanings) and how a document's outcome becomes counter increments
 * with bounded attributes. `@wireseal/http` and `@wireseal/kafka` hand these
 * to the OpenTelemetry API; core itself depends on no metrics library (a
 * sink is two functions).
 */
import { WiresealError } from './errors.ts';
import type { FieldPolicy } from './policy.ts';
import type { DecryptFieldsResult, EncryptFieldsResult } from './fields/options.ts';
import type { FieldKeys } from './fields/keyring.ts';
import { tallyValues } from './fields/tally.ts';

/** Counter names, without the `wireseal.` prefix. */
export type CounterName = 'values' | 'records';
/** Histogram names, without the `wireseal.` prefix. */
export type HistogramName = 'seal.duration' | 'open.duration';

/** One instrument as the codecs create it. */
export interface InstrumentSpec {
  readonly name: string;
  readonly kind: 'counter' | 'histogram';
  readonly unit: string;
  readonly description: string;
}

/** The codecs' instruments, keyed by their short name (docs/operations.md §3.1). */
export const INSTRUMENTS: Readonly<Record<CounterName | HistogramName, InstrumentSpec>> = Object.freeze({
  values: {
    name: 'wireseal.values',
    kind: 'counter',
    unit: '{value}',
    description: 'Values sealed, opened, passed through (migrate) or left sealed (audience not held): one per field token, one per whole payload',
  },
  records: {
    name: 'wireseal.records',
    kind: 'counter',
    unit: '{record}',
    description: 'Documents (HTTP bodies, Kafka record values) sealed, opened, passed through, left sealed, without values, or rejected',
  },
  'seal.duration': { name: 'wireseal.seal.duration', kind: 'histogram', unit: 's', description: 'Time to seal one document' },
  'open.duration': { name: 'wireseal.open.duration', kind: 'histogram', unit: 's', description: 'Time to open one document' },
});

/** Bucket boundaries for the duration histograms, in seconds: 50 µs to 1 s. */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]);

/** Attribute values: bounded by configuration, never a path, a record key, a token or plaintext. */
export type MetricAttributes = Record<string, string>;

/** Where increments go: the codec's counters. */
export interface MetricSink {
  add(counter: CounterName, n: number, attributes: MetricAttributes): void;
}

/** `opened` and the other outcomes of a document that was opened; `sealed` and `no_values` when sealing. */
export type RecordOutcome = 'sealed' | 'opened' | 'passed_through' | 'left_sealed' | 'no_values' | 'rejected';

function values(sink: MetricSink, base: MetricAttributes, outcome: RecordOutcome, policy: FieldPolicy, keys: FieldKeys | undefined, paths: readonly string[], kids?: Readonly<Record<string, number>>): void {
  for (const t of tallyValues(policy, keys, paths, kids)) {
    const attributes: MetricAttributes = { ...base, outcome };
    if (t.audience !== undefined) attributes.audience = t.audience;
    if (t.kid !== undefined) attributes.kid = t.kid;
    sink.add('values', t.count, attributes);
  }
}

/** The one kid of a document's tokens, if they all share one. */
function onlyKid(kids: Readonly<Record<string, number>>): string | undefined {
  let only: string | undefined;
  for (const kid in kids) {
    if (only !== undefined) return undefined;
    only = kid;
  }
  return only;
}

function record(sink: MetricSink, base: MetricAttributes, outcome: RecordOutcome, kid: string | undefined): void {
  sink.add('records', 1, kid === undefined ? { ...base, outcome } : { ...base, outcome, kid });
}

/**
 * Counts a sealed field-mode document: its values by audience and kid, and
 * the document (`sealed`, or `no_values` when no policy path had a value).
 * `base` holds the codec's attributes (`package`, `mode`, `operation`, ...).
 * @internal
 */
export function countSealedFields(sink: MetricSink, base: MetricAttributes, policy: FieldPolicy, keys: FieldKeys | undefined, r: EncryptFieldsResult<unknown>): RecordOutcome {
  const outcome: RecordOutcome = r.sealed.length > 0 ? 'sealed' : 'no_values';
  values(sink, base, 'sealed', policy, keys, r.sealed, r.kids);
  record(sink, base, outcome, onlyKid(r.kids));
  return outcome;
}

/**
 * Counts an opened field-mode document: values opened (by audience and kid),
 * passed through and left sealed (by audience), and the document under one
 * outcome: `passed_through` when any value held plaintext (migrate mode),
 * else `opened` when a token was opened, else `left_sealed` when it held
 * only tokens of audiences this side lacks, else `no_values`.
 * @internal
 */
export function countOpenedFields(sink: MetricSink, base: MetricAttributes, policy: FieldPolicy, keys: FieldKeys | undefined, r: DecryptFieldsResult<unknown>): RecordOutcome {
  values(sink, base, 'opened', policy, keys, r.decrypted, r.kids);
  const passed = r.legacy.length > 0 ? [...r.passedThrough, ...r.legacy.map((l) => l.path)] : r.passedThrough;
  values(sink, base, 'passed_through', policy, keys, passed);
  values(sink, base, 'left_sealed', policy, keys, r.sealed);
  const outcome: RecordOutcome = passed.length > 0 ? 'passed_through' : r.decrypted.length > 0 ? 'opened' : r.sealed.length > 0 ? 'left_sealed' : 'no_values';
  record(sink, base, outcome, onlyKid(r.kids));
  return outcome;
}

/**
 * Counts a whole payload: one value and one document, `sealed`, `opened`
 * (with the kid that sealed or opened it, when known) or `passed_through`.
 * @internal
 */
export function countWhole(sink: MetricSink, base: MetricAttributes, outcome: 'sealed' | 'opened' | 'passed_through', kid: string | undefined): void {
  sink.add('values', 1, kid === undefined ? { ...base, outcome } : { ...base, outcome, kid });
  record(sink, base, outcome, kid);
}

/**
 * Counts a document that was refused (it did not open, or could not be
 * sealed), with the `WiresealError` code (`ERR_INTERNAL` for anything else).
 * @internal
 */
export function countRejected(sink: MetricSink, base: MetricAttributes, err: unknown): void {
  sink.add('records', 1, { ...base, outcome: 'rejected', code: err instanceof WiresealError ? err.code : 'ERR_INTERNAL' });
}

/** The part of an OpenTelemetry `Meter` the codecs use (structural: core imports no metrics library). */
export interface MeterLike {
  createCounter(name: string, options?: { unit?: string; description?: string }): { add(value: number, attributes?: MetricAttributes): void };
  createHistogram(
    name: string,
    options?: { unit?: string; description?: string; advice?: { explicitBucketBoundaries?: number[] } },
  ): { record(value: number, attributes?: MetricAttributes): void };
}

type Instruments = {
  readonly counters: Record<CounterName, { add(value: number, attributes?: MetricAttributes): void }>;
  readonly histograms: Record<HistogramName, { record(value: number, attributes?: MetricAttributes): void }>;
};

function create(meter: MeterLike): Instruments {
  const counter = (n: CounterName) => meter.createCounter(INSTRUMENTS[n].name, { unit: INSTRUMENTS[n].unit, description: INSTRUMENTS[n].description });
  const histogram = (n: HistogramName) =>
    meter.createHistogram(INSTRUMENTS[n].name, { unit: INSTRUMENTS[n].unit, description: INSTRUMENTS[n].description, advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] } });
  return {
    counters: { values: counter('values'), records: counter('records') },
    histograms: { 'seal.duration': histogram('seal.duration'), 'open.duration': histogram('open.duration') },
  };
}

/** The part of an OpenTelemetry `MeterProvider` the codecs use. */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): MeterLike;
}

/**
 * A codec's instruments, made from whatever meter provider `provider()`
 * returns at the time of each recording (the meter and its instruments are
 * made once per provider), so a provider installed after the codec was built
 * is still used. A recording never throws.
 * @internal
 */
export class MetricRecorder implements MetricSink {
  readonly #provider: () => MeterProviderLike;
  readonly #scope: readonly [string, string];
  #made: { provider: MeterProviderLike; instruments: Instruments } | undefined;

  /** @param scope - the instrumentation scope: package name and version */
  constructor(provider: () => MeterProviderLike, scope: readonly [string, string]) {
    this.#provider = provider;
    this.#scope = scope;
  }

  #instruments(): Instruments | undefined {
    try {
      const provider = this.#provider();
      if (this.#made?.provider !== provider) this.#made = { provider, instruments: create(provider.getMeter(...this.#scope)) };
      return this.#made.instruments;
    } catch {
      return undefined; // a broken meter provider must not fail a request or a record
    }
  }

  add(counter: CounterName, n: number, attributes: MetricAttributes): void {
    try {
      this.#instruments()?.counters[counter].add(n, attributes);
    } catch {
      // as above
    }
  }

  /** Records the seconds since `startMs` (a `performance.now()` reading). */
  duration(histogram: HistogramName, startMs: number, attributes: MetricAttributes): void {
    try {
      this.#instruments()?.histograms[histogram].record((performance.now() - startMs) / 1000, attributes);
    } catch {
      // as above
    }
  }
}
