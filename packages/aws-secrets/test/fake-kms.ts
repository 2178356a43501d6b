/** An in-memory KMS for unit tests: AES-256-GCM with the encryption context as AAD, counting calls. */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DecryptCommand, DecryptCommandOutput, EncryptCommand, EncryptCommandOutput } from '@aws-sdk/client-kms';
import type { KmsClientLike } from '../src/index.ts';

const aad = (ctx: Record<string, string> | undefined): Buffer => Buffer.from(JSON.stringify(Object.entries(ctx ?? {}).sort()));

export function fakeKms(): { kmsClient: KmsClientLike; counts: { Encrypt: number; Decrypt: number }; fail: { on: boolean } } {
  const master = randomBytes(32);
  const counts = { Encrypt: 0, Decrypt: 0 };
  const fail = { on: false };
  const denied = () => Object.assign(new Error('User is not authorized to perform kms:Decrypt'), { name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
  const kmsClient = {
    async send(command: EncryptCommand | DecryptCommand): Promise<EncryptCommandOutput | DecryptCommandOutput> {
      const name = command.constructor.name === 'EncryptCommand' ? 'Encrypt' : 'Decrypt';
      counts[name]++;
      if (fail.on) throw denied();
      if (name === 'Encrypt') {
        const input = (command as EncryptCommand).input;
        const iv = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', master, iv).setAAD(aad(input.EncryptionContext));
        const body = Buffer.concat([c.update(input.Plaintext!), c.final()]);
        return { CiphertextBlob: new Uint8Array(Buffer.concat([iv, c.getAuthTag(), body])), KeyId: input.KeyId, $metadata: {} };
      }
      const input = (command as DecryptCommand).input;
      const blob = Buffer.from(input.CiphertextBlob!);
      try {
        const d = createDecipheriv('aes-256-gcm', master, blob.subarray(0, 12)).setAAD(aad(input.EncryptionContext));
        d.setAuthTag(blob.subarray(12, 28));
        return { Plaintext: new Uint8Array(Buffer.concat([d.update(blob.subarray(28)), d.final()])), $metadata: {} };
      } catch {
        throw Object.assign(new Error(''), { name: 'InvalidCiphertextException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
      }
    },
  } as KmsClientLike;
  return { kmsClient, counts, fail };
}
