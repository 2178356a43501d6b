import { wiresealVitest } from '@wireseal-tooling/vitest-config';

// kafkajs 2.2.4 trips Node 24's TimeoutNegativeWarning (kafkajs #1751, harmless).
// One broker per test file; files run one after another so two brokers never
// compete for this machine's two cores.
export default wiresealVitest({
  execArgv: ['--disable-warning=TimeoutNegativeWarning'],
  fileParallelism: false,
  testTimeout: 180_000,
});
