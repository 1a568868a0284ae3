import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2, { type ParsedKey } from 'ssh2';

const { utils } = ssh2; // ssh2 is CommonJS: no named value exports

export const keyFiles = {
  client: 'client_ed25519',
  clientPub: 'client_ed25519.pub',
  host: 'host_ed25519',
  hostPub: 'host_ed25519.pub',
} as const;

/** OpenSSH's fingerprint form, SHA256:<unpadded base64 of the key blob>. */
export function fingerprint(key: ParsedKey): string {
  const digest = createHash('sha256').update(key.getPublicSSH()).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

export async function loadKey(
  path: string,
  what: string,
  need: 'private' | 'any' = 'any',
): Promise<ParsedKey> {
  return (await loadKeyFile(path, what, need)).key;
}

/** The parsed key and the file's bytes, for callers that hand both to ssh2. */
export async function loadKeyFile(
  path: string,
  what: string,
  need: 'private' | 'any' = 'any',
): Promise<{ key: ParsedKey; text: Buffer }> {
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (err) {
    throw new Error(
      `cannot read ${what} "${path}": ${(err as NodeJS.ErrnoException).code ?? err}`,
      {
        cause: err,
      },
    );
  }
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error) {
    throw new Error(`${what} "${path}" is not an OpenSSH key: ${parsed.message}`);
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) throw new Error(`${what} "${path}" holds no key`);
  // ssh2 would only find out at the handshake, as a retryable failure.
  if (need === 'private' && !key.isPrivateKey()) {
    throw new Error(
      `${what} "${path}" is a public key: give the private key${path.endsWith('.pub') ? ` ("${path.slice(0, -4)}")` : ''}`,
    );
  }
  return { key, text };
}

/**
 * An ed25519 pair that both sides can load. ssh2's generator now and then
 * (about 1 in 130) emits a public key that drops a leading zero byte and does
 * not parse; such a pair is thrown away and generated again.
 */
export function freshKeyPair(comment: string): {
  private: string;
  public: string;
  parsed: ParsedKey;
} {
  for (let attempt = 0; attempt < 8; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    const pub = utils.parseKey(pair.public);
    const priv = utils.parseKey(pair.private);
    if (
      pub instanceof Error ||
      Array.isArray(pub) ||
      priv instanceof Error ||
      Array.isArray(priv)
    ) {
      continue;
    }
    if (!pub.getPublicSSH().equals(priv.getPublicSSH())) continue;
    return { private: pair.private, public: pair.public, parsed: pub };
  }
  throw new Error('could not generate a valid ed25519 key pair');
}

/** Per-replication key pairs: one for the sender (client), one for the receiver (host). */
export async function generateKeys(
  dir: string,
  comment = 'scribe',
): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const out: Record<string, string> = {};
  for (const [role, priv, pub] of [
    ['client', keyFiles.client, keyFiles.clientPub],
    ['host', keyFiles.host, keyFiles.hostPub],
  ] as const) {
    const pair = freshKeyPair(`${comment}-${role}`);
    const privPath = join(dir, priv);
    await writeFile(privPath, pair.private, { mode: 0o600 });
    await chmod(privPath, 0o600); // an existing file keeps its mode on write
    await writeFile(join(dir, pub), `${pair.public.trim()}\n`, { mode: 0o644 });
    out[role] = fingerprint(pair.parsed);
  }
  return out;
}
