/**
 * checkout CLI: sends `--count` generated payments to payments-api.
 *
 *   WIRESEAL_KEYSET_FILE=keys.json node src/main.ts --payments-url http://127.0.0.1:3001 --count 300
 *
 * Prints one JSON line per event (`--json`) or a short summary; exits 1 when
 * any payment was not authorized.
 */
import { parseArgs } from 'node:util';
import { createCheckout, runCheckout } from './checkout.ts';
import { keyProviderFromEnv } from '@wireseal-apps/shared/service-keys';
import { generatePayments } from './payments.ts';

const { values } = parseArgs({
  options: {
    'payments-url': { type: 'string' },
    count: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
    seed: { type: 'string', default: 'demo' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help || !values['payments-url']) {
  process.stdout.write('usage: checkout --payments-url URL [--count N] [--concurrency N] [--seed S] [--json]\n' +
    'keys: WIRESEAL_KEYSET_FILE, WIRESEAL_SECRET_ID (+ AWS_* settings) or WIRESEAL_KEYSET\n');
  process.exit(values.help ? 0 : 2);
}
const log = (event: Record<string, unknown>): void => {
  if (values.json) process.stdout.write(`${JSON.stringify({ service: 'checkout', ...event })}\n`);
};
const keys = keyProviderFromEnv(process.env, log);
await keys.ready();
const checkout = createCheckout({ paymentsUrl: values['payments-url'], keys });
const payments = generatePayments(Number(values.count), values.seed);
const summary = await runCheckout(checkout, payments, Number(values.concurrency));
await keys.close();
if (values.json) log({ event: 'summary', ...summary });
else process.stdout.write(`checkout: sent ${summary.sent}, authorized ${summary.authorized}, refused ${JSON.stringify(summary.refused)} in ${summary.ms} ms\n`);
process.exitCode = summary.authorized === summary.sent ? 0 : 1;
