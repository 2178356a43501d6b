// Peer for the Kafka benchmark: Confluent's client-side field-level encryption
// (CSFLE) for JavaScript, @confluentinc/schemaregistry's JsonSerializer /
// JsonDeserializer running an ENCRYPT domain rule (FieldEncryptionExecutor) on
// the fields tagged PII in a registered JSON schema. Everything is in-process:
// baseURLs ['mock://'] makes SchemaRegistryClient.newClient return MockClient
// and makes the executor's DekRegistryClient.newClient return
// MockDekRegistryClient; the KEK is the local KMS driver ("local-kms", key
// derived by HKDF from a fixed secret). No socket is opened.
//
// What a record costs, as a Confluent producer/consumer would pay it:
//   serialize:   the rule walks the schema, and for each PII string field
//                AES-GCM-encrypts it with the subject's DEK (one DEK per
//                kek + subject + algorithm, created on first use, KEK-wrapped
//                by local-kms, then cached and reused for every record);
//                ciphertext = base64(12-byte IV || ct || 16-byte tag) in place
//                of the string; value = 0x00 + 4-byte schema id + JSON.
//   deserialize: the reverse (schema id looked up in the mock registry).
// The serializer rewrites the fields of the object it is given, so serialize()
// here encrypts a structuredClone of the document unless { clone: false }.
import {
  FieldEncryptionExecutor,
  JsonDeserializer,
  JsonSerializer,
  LocalKmsDriver,
  RuleMode,
  RuleRegistry,
  SchemaRegistryClient,
  SerdeType,
} from '@confluentinc/schemaregistry';
import type { Rule, SchemaInfo } from '@confluentinc/schemaregistry';

export interface ConfluentFieldCodec {
  serialize(doc: object): Promise<Buffer>;
  deserialize(buf: Buffer): Promise<object>;
  description: string;
  /** Schema id the value is framed with (0x00 + int32 BE id prefix). */
  schemaId: number;
  /** Confluent subject (TopicNameStrategy: `${topic}-value`). */
  subject: string;
}

export interface ConfluentFieldCodecOptions {
  /** DEK algorithm: Confluent's default AES256_GCM, or deterministic AES256_SIV. */
  algorithm?: 'AES256_GCM' | 'AES256_SIV';
  /** Encrypt a structuredClone of the document (default true): Confluent's serializer mutates its input. */
  clone?: boolean;
  /** Local KMS secret (the KEK is HKDF-SHA256 of it). */
  secret?: string;
}

const DEFAULT_SECRET = 'wireseal-bench-local-kms-secret';

type JsonSchema = { type: string; properties?: Record<string, JsonSchema>; items?: JsonSchema; 'confluent:tags'?: string[] };

/** JSON schema of the benchmark document (bench/doc.ts makeDoc). */
function benchSchema(): JsonSchema {
  const s = (): JsonSchema => ({ type: 'string' });
  const obj = (properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties });
  return obj({
    id: { type: 'integer' },
    type: s(),
    amount: obj({ value: { type: 'number' }, currency: s() }),
    card: obj({ number: s(), cvv: s(), holder: s(), exp: s(), brand: s() }),
    customer: obj({ id: s(), ssn: s(), email: s(), phone: s() }),
    merchant: obj({ id: s(), name: s(), mcc: s(), city: s(), country: s() }),
    tags: { type: 'array', items: s() },
    description: s(),
    createdAt: s(),
  });
}

function tagPii(schema: JsonSchema, fields: readonly string[]): void {
  for (const field of fields) {
    let node: JsonSchema | undefined = schema;
    for (const part of field.split('.')) node = node?.properties?.[part];
    if (node?.type !== 'string') throw new Error(`confluent peer: ${field} is not a string field of the bench schema`);
    node['confluent:tags'] = ['PII'];
  }
}

let driverRegistered = false;

/**
 * A Confluent CSFLE value codec for `topic`: registers the bench JSON schema
 * under `${topic}-value` in an in-memory registry with `fields` tagged PII and
 * an ENCRYPT rule (local-kms KEK), and returns serialize/deserialize bound to
 * that topic. Each call gets its own registry, DEK registry and executor.
 */
export async function confluentFieldCodec(
  fields: readonly string[],
  topic: string,
  options: ConfluentFieldCodecOptions = {},
): Promise<ConfluentFieldCodec> {
  const algorithm = options.algorithm ?? 'AES256_GCM';
  const clone = options.clone ?? true;
  const secret = options.secret ?? DEFAULT_SECRET;
  if (!driverRegistered) {
    LocalKmsDriver.register(); // global KMS driver registry, "local-kms://" key URLs
    driverRegistered = true;
  }

  // mock:// => MockClient here, MockDekRegistryClient inside the executor.
  const client = SchemaRegistryClient.newClient({ baseURLs: ['mock://'], cacheCapacity: 1000 });
  // Private rule registry (not the global one) shared by serializer and
  // deserializer, so both use the same executor and the same in-memory DEK
  // registry — the in-process stand-in for producer and consumer sharing a
  // DEK Registry.
  const rules = new RuleRegistry();
  rules.registerExecutor(new FieldEncryptionExecutor());

  const schema = benchSchema();
  tagPii(schema, fields);
  const kekName = `wireseal-bench-kek`;
  const encRule: Rule = {
    name: 'encrypt-pii',
    kind: 'TRANSFORM',
    mode: RuleMode.WRITEREAD,
    type: 'ENCRYPT',
    tags: ['PII'],
    params: {
      'encrypt.kek.name': kekName,
      'encrypt.kms.type': 'local-kms',
      'encrypt.kms.key.id': 'wireseal-bench-key',
      'encrypt.dek.algorithm': algorithm,
    },
    onFailure: 'ERROR,ERROR',
  };
  const info: SchemaInfo = { schemaType: 'JSON', schema: JSON.stringify(schema), ruleSet: { domainRules: [encRule] } };
  const subject = `${topic}-value`;
  const schemaId = await client.register(subject, info, false);

  const ruleConfig = { secret };
  const ser = new JsonSerializer(client, SerdeType.VALUE, { autoRegisterSchemas: false, useLatestVersion: true, ruleConfig }, rules);
  const deser = new JsonDeserializer(client, SerdeType.VALUE, { ruleConfig }, rules);

  return {
    serialize: (doc) => ser.serialize(topic, clone ? structuredClone(doc) : doc),
    deserialize: async (buf) => (await deser.deserialize(topic, buf)) as object,
    description:
      `Confluent CSFLE (@confluentinc/schemaregistry JsonSerializer/JsonDeserializer + FieldEncryptionExecutor): ` +
      `ENCRYPT rule on ${fields.length} PII fields, ${algorithm}, one DEK per subject ${subject} (cached, reused), ` +
      `KEK local-kms, in-memory MockClient + MockDekRegistryClient${clone ? ', input cloned' : ''}`,
    schemaId,
    subject,
  };
}
