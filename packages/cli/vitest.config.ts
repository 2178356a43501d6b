import { wiresealVitest } from '@wireseal-tooling/vitest-config';

export default wiresealVitest({
  // Builds dist/ when it is missing or stale: the tests run the built executable.
  globalSetup: ['test/global-setup.ts'],
  // kafkajs 2.2.4 on Node 24 (kafkajs#1751, harmless), in the Kafka test's own clients.
  execArgv: ['--disable-warning=TimeoutNegativeWarning'],
});
