import type { MeterProvider } from '@opentelemetry/sdk-metrics';

/** One data point: a sum's or a gauge's value, a histogram's count. */
export interface TestPoint {
  attributes: Record<string, unknown>;
  value: number;
}

export interface TestMeters {
  readonly meterProvider: MeterProvider;
  /** Every data point of the instrument `name`, collected now. */
  points(name: string): Promise<TestPoint[]>;
  /** The sum over the data points of `name` whose attributes include `match`. */
  total(name: string, match: Record<string, string>): Promise<number>;
  shutdown(): Promise<void>;
}

export function testMeters(options?: { delta?: boolean }): TestMeters;
