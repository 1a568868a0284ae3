import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';
import ssh2, { type Client, type ClientChannel, type ParsedKey } from 'ssh2';
import { formatEndpoint, type Endpoint } from './endpoint.ts';
import { fingerprint } from './keys.ts';

// GCM first: with AES-NI and ssh2's native binding it is the fastest cipher here.
export const cipherPreference = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes256-ctr',
] as const;

export class HostKeyMismatchError extends Error {
  readonly retryable = false;
}
export class AuthenticationError extends Error {
  readonly retryable = false;
}

export interface ConnectOptions {
  to: Endpoint;
  clientKey: ParsedKey;
  clientKeyText: Buffer;
  pinnedHostKey: ParsedKey;
  keepaliveMs?: number;
  connectTimeoutMs?: number;
}

export interface Connection {
  client: Client;
  socket: net.Socket;
}

function blobFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Opens an SSH connection that trusts only the pinned host key. */
export function connect(o: ConnectOptions): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const pinned = o.pinnedHostKey.getPublicSSH();
    let presented: string | undefined;
    // Nagle's algorithm delays rsync's many small protocol messages.
    const socket = net.connect({
      host: o.to.host,
      port: o.to.port,
      noDelay: true,
      keepAlive: true,
    });
    const client = new ssh2.Client();
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      client.end();
      socket.destroy();
      reject(err);
    };
    client.on('ready', () => {
      settled = true;
      resolve({ client, socket });
    });
    client.on('error', (err: Error & { level?: string }) => {
      if (presented) {
        fail(
          new HostKeyMismatchError(
            `host key verification failed for ${formatEndpoint(o.to)}: it presented ${presented} ` +
              `but the pinned key is ${fingerprint(o.pinnedHostKey)}. If the destination's ` +
              'endpoint was recreated on purpose, pin its new host key; otherwise do not connect.',
          ),
        );
      } else if (err.level === 'client-authentication') {
        fail(
          new AuthenticationError(
            `${formatEndpoint(o.to)} refused this sender's key ${fingerprint(o.clientKey)}: ` +
              "check that the destination's authorized key is this replication's client key",
          ),
        );
      } else {
        fail(new Error(`cannot connect to ${formatEndpoint(o.to)}: ${err.message}`));
      }
    });
    socket.on('error', (err) =>
      fail(new Error(`cannot connect to ${formatEndpoint(o.to)}: ${err.message}`)),
    );
    client.connect({
      sock: socket,
      username: 'scribe',
      privateKey: o.clientKeyText,
      // Straight to the key: the default asks for "none" first, a round trip per connection.
      authHandler: ['publickey'],
      hostVerifier: (key: Buffer) => {
        const ok = key.length === pinned.length && timingSafeEqual(key, pinned);
        if (!ok) presented = blobFingerprint(key);
        return ok;
      },
      algorithms: { cipher: [...cipherPreference], compress: ['none'] },
      keepaliveInterval: o.keepaliveMs ?? 5000,
      keepaliveCountMax: 3,
      readyTimeout: o.connectTimeoutMs ?? 20000,
    });
  });
}

/**
 * Runs a command on a new channel. Take its exit code from the channel's
 * 'close' event (ssh2 passes it there): the answer can arrive in the same read
 * as the exec's success reply, and an 'exit' listener attached once this
 * promise resolves, a microtask later, would miss it.
 */
export function exec(
  client: Client,
  command: string,
  env?: Record<string, string>,
): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.exec(command, env ? { env } : {}, (err, channel) =>
      err ? reject(err) : resolve(channel),
    );
  });
}

/** Runs a command and collects its output; for the small control commands. */
export async function execCollect(
  client: Client,
  command: string,
  input?: string,
  env?: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const channel = await exec(client, command, env);
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    channel.on('data', (d: Buffer) => (stdout += d.toString()));
    channel.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    channel.on('close', (code?: number | null) => resolve({ code: code ?? null, stdout, stderr }));
    channel.end(input ?? '');
  });
}

export function cryptoPath(): { nativeBinding: boolean } {
  return { nativeBinding: nativeBindingLoaded() };
}

function nativeBindingLoaded(): boolean {
  const require = createRequire(import.meta.url);
  const crypto = require('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: boolean };
  return crypto.bindingAvailable === true;
}
