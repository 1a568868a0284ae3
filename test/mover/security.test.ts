import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import ssh2, { type Client, type ClientChannel } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  keygen,
  moverBin,
  runMover,
  runSend,
  startReceiver,
  type MoverKeys,
  type Receiver,
} from '../support/mover.ts';

let work: string;
let keys: MoverKeys;
let strangers: MoverKeys;
let receiver: Receiver;
let volume: string;
let outside: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'scribe-security-'));
  keys = await keygen(join(work, 'keys'));
  strangers = await keygen(join(work, 'other-keys'));
  volume = join(work, 'dst');
  outside = join(work, 'outside');
  await mkdir(volume);
  await mkdir(outside);
  receiver = await startReceiver({ volume, keys });
});

afterAll(async () => {
  await receiver?.stop();
  await rm(work, { recursive: true, force: true });
});

/** OpenSSH's SHA256 fingerprint of a .pub file, computed independently of the mover. */
async function fingerprintOf(pubPath: string): Promise<string> {
  const blob = Buffer.from((await readFile(pubPath, 'utf8')).split(' ')[1]!, 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** An ssh2 client with the right key, to try what a real rsync sender never asks for. */
async function connectAs(opts: { privateKey?: Buffer; password?: string }): Promise<Client> {
  const client = new ssh2.Client();
  const ready = new Promise<Client>((resolve, reject) => {
    client.on('ready', () => resolve(client));
    client.on('error', reject);
  });
  client.connect({
    host: receiver.host,
    port: receiver.port,
    username: 'root',
    ...opts,
    tryKeyboard: true,
    hostVerifier: () => true,
    readyTimeout: 10_000,
  });
  return ready;
}

function execOn(client: Client, command: string) {
  return new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    client.exec(command, (err, ch: ClientChannel) => {
      if (err) return reject(err);
      let stderr = '';
      let code: number | null = null;
      ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      ch.on('exit', (c: number | null) => (code = c));
      ch.on('close', () => resolve({ code, stderr }));
      ch.resume();
      ch.end();
    });
  });
}

describe('authentication', () => {
  it('refuses a client key that is not the authorized one, without retrying', async () => {
    const r = await runSend({
      volume: outside,
      to: receiver.address,
      keys: { ...keys, client: strangers.client },
    });
    expect(r.code).toBe(1);
    expect(r.summary?.attempts).toBe(1);
    expect(r.summary?.error).toMatch(/refused this sender's key SHA256:/);
  });

  it('says at once that a public key was given where the private one belongs', async () => {
    const send = await runSend({
      volume: outside,
      to: receiver.address,
      keys: { ...keys, client: keys.clientPub },
    });
    expect(send.code).toBe(1);
    expect(send.stderr).toContain(
      `error: the client key "${keys.clientPub}" is a public key: give the private key ("${keys.client}")`,
    );
    expect(send.stderr).not.toContain('attempt failed');
    const hostPub = keys.hostPub;
    const receive = await runMover([
      'receive',
      '--volume',
      outside,
      '--listen',
      '127.0.0.1:0',
      '--host-key',
      hostPub,
      '--authorized-key',
      keys.clientPub,
    ]);
    expect(receive.code).toBe(1);
    expect(receive.stderr).toContain(`error: host key "${hostPub}" is a public key`);
  });

  it('refuses a receiver whose host key is not the pinned one, naming both fingerprints', async () => {
    const r = await runSend({
      volume: outside,
      to: receiver.address,
      keys: { ...keys, hostPub: strangers.hostPub },
    });
    expect(r.code).toBe(1);
    expect(r.summary?.attempts).toBe(1);
    const presented = await fingerprintOf(keys.hostPub);
    const pinned = await fingerprintOf(strangers.hostPub);
    expect(r.summary?.error).toContain(`presented ${presented} but the pinned key is ${pinned}`);
  });

  it('refuses password and keyboard-interactive authentication', async () => {
    await expect(connectAs({ password: 'hunter2' })).rejects.toThrow(
      /authentication methods failed/,
    );
  });
});

describe('an authenticated client gets no shell and no tunnels', () => {
  let client: Client;
  beforeAll(async () => {
    client = await connectAs({ privateKey: await readFile(keys.client) });
  });
  afterAll(() => client?.end());

  it('refuses a shell', async () => {
    await expect(
      new Promise((res, rej) => client.shell(false, (e, ch) => (e ? rej(e) : res(ch)))),
    ).rejects.toThrow();
  });

  it('refuses a pty', async () => {
    await expect(
      new Promise((res, rej) =>
        client.exec('id', { pty: true }, (e, ch) => (e ? rej(e) : res(ch))),
      ),
    ).rejects.toThrow();
  });

  it('refuses sftp and other subsystems', async () => {
    await expect(
      new Promise((res, rej) => client.sftp((e, s) => (e ? rej(e) : res(s)))),
    ).rejects.toThrow();
    await expect(
      new Promise((res, rej) => client.subsys('netconf', (e, s) => (e ? rej(e) : res(s)))),
    ).rejects.toThrow();
  });

  it('refuses local and remote port forwarding', async () => {
    await expect(
      new Promise((res, rej) =>
        client.forwardOut('127.0.0.1', 1, '127.0.0.1', receiver.port, (e, ch) =>
          e ? rej(e) : res(ch),
        ),
      ),
    ).rejects.toThrow();
    await expect(
      new Promise((res, rej) =>
        client.forwardIn('127.0.0.1', 0, (e, port) => (e ? rej(e) : res(port))),
      ),
    ).rejects.toThrow();
  });

  it('runs no command but the rsync receiving server', async () => {
    const r = await execOn(client, 'cat /etc/shadow');
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/only accepts Scribe transfers/);
    const sender = await execOn(client, 'rsync --server --sender -logDtpre.iLsfxC . /etc/');
    expect(sender.code).not.toBe(0);
    expect(sender.stderr).toMatch(/--sender is not allowed/);
    const keepDirlinks = await execOn(client, 'rsync --server -logDtpKre.iLsfxC . .');
    expect(keepDirlinks.stderr).toMatch(/-K is not allowed/);
  });

  it('refused each of those requests itself (not by accident)', () => {
    const logged = receiver.logs().map((l) => `${String(l.msg)}:${String(l.request ?? '')}`);
    for (const want of [
      'refused session request:shell',
      'refused session request:pty',
      'refused session request:subsystem',
      'refused port forwarding:',
      'refused global request:tcpip-forward',
      'refused command:',
    ]) {
      expect(logged).toContain(want);
    }
  });

  it('does not commit a sync that never transferred', async () => {
    const r = await execOn(client, 'scribe-commit made-up-id');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no complete transfer to commit/);
    await expect(readdir(join(volume, '.scribe'))).rejects.toThrow();
  });
});

describe('the volume is the only place written', () => {
  const rshFor = (k: MoverKeys) =>
    [process.execPath, moverBin, 'rsh', '--to', receiver.address, '--key', k.client]
      .concat(['--known-host-key', k.hostPub, '--sync-id', 'escape-test', '--'])
      .map((w) => `'${w}'`)
      .join(' ');

  async function rsyncTo(source: string, destination: string): Promise<number | null> {
    const child = spawn(
      'rsync',
      ['-a', '-e', rshFor(keys), `${source}/`, `scribe:${destination}`],
      {
        stdio: 'ignore',
      },
    );
    const [code] = (await once(child, 'exit')) as [number | null];
    return code;
  }

  it('ignores absolute and parent destinations asked by the sender', async () => {
    const src = join(work, 'src-abs');
    await mkdir(src);
    await writeFile(join(src, 'planted'), 'x');
    expect(await rsyncTo(src, `${outside}/`)).toBe(0);
    expect(await rsyncTo(src, '../../../../../../tmp/')).toBe(0);
    expect(await readdir(outside)).toEqual([]);
    expect(await readFile(join(volume, 'planted'), 'utf8')).toBe('x');
  });

  it('does not follow a symlink that points out of the volume', async () => {
    const src = join(work, 'src-link');
    await mkdir(src);
    await symlink(outside, join(src, 'door'));
    expect(await rsyncTo(src, '.')).toBe(0);
    // Next sync: the name is now a directory with a file in it.
    await rm(join(src, 'door'));
    await mkdir(join(src, 'door'));
    await writeFile(join(src, 'door', 'pwned'), 'x');
    expect(await rsyncTo(src, '.')).toBe(0);
    expect(await readdir(outside)).toEqual([]);
    expect(await readFile(join(volume, 'door', 'pwned'), 'utf8')).toBe('x');
  });

  it('never logs key material', async () => {
    const secrets = [keys.client, keys.host, strangers.client].map(async (p) =>
      (await readFile(p, 'utf8'))
        .split('\n')
        .filter((l) => l && !l.startsWith('-----'))
        .join(''),
    );
    for (const body of await Promise.all(secrets)) {
      expect(receiver.stderr().replaceAll('\n', '')).not.toContain(body.slice(0, 40));
    }
  });
});
