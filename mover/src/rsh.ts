import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseEndpoint, type Endpoint } from './endpoint.ts';
import { loadKey, loadKeyFile } from './keys.ts';
import { connect, exec } from './ssh-transport.ts';

/** What the remote-shell bridge tells the sender after rsync is done with it. */
export interface RshReport {
  wireBytes: number;
  error?: string;
  retryable?: boolean;
}

export interface RshOptions {
  to: Endpoint;
  keyPath: string;
  knownHostKeyPath: string;
  syncId: string;
  keepaliveMs: number;
  reportPath?: string;
  command: string[];
}

/**
 * rsync's remote shell (-e): carries rsync's stdin and stdout over an SSH
 * exec channel, as OpenSSH's client would, but with the pinned host key and
 * this replication's key only. Returns the exit code for the process.
 */
export async function runRsh(o: RshOptions): Promise<number> {
  const report: RshReport = { wireBytes: 0 };
  const save = () =>
    o.reportPath ? writeFile(o.reportPath, JSON.stringify(report)) : Promise.resolve();
  // rsync passes "HOST rsync --server ..."; the host part is ours already.
  const command = o.command.slice(1).join(' ');
  let conn;
  try {
    const client = await loadKeyFile(o.keyPath, 'the client key', 'private');
    conn = await connect({
      to: o.to,
      clientKey: client.key,
      clientKeyText: client.text,
      pinnedHostKey: await loadKey(o.knownHostKeyPath, 'known host key'),
      keepaliveMs: o.keepaliveMs,
    });
  } catch (err) {
    const e = err as Error & { retryable?: boolean };
    report.error = e.message;
    report.retryable = e.retryable !== false;
    await save();
    process.stderr.write(`scribe-mover: ${e.message}\n`);
    return 255;
  }
  const { client, socket } = conn;
  let code = 255;
  try {
    const channel = await exec(client, command, { SCRIBE_SYNC_ID: o.syncId });
    process.stdin.pipe(channel);
    channel.pipe(process.stdout, { end: false });
    channel.stderr.pipe(process.stderr, { end: false });
    await new Promise<void>((resolve) => {
      // The exit code comes with 'close' (see exec).
      channel.on('close', (c?: number | null) => {
        code = c ?? 255;
        resolve();
      });
      client.on('close', resolve);
      client.on('error', (err: Error) => {
        process.stderr.write(`scribe-mover: connection lost: ${err.message}\n`);
        resolve();
      });
    });
  } finally {
    process.stdin.unpipe();
    process.stdin.destroy();
    report.wireBytes = socket.bytesRead + socket.bytesWritten;
    client.end();
    await save();
  }
  return code;
}

/** `scribe-mover rsh --to A --key K --known-host-key H --sync-id ID [--report F] -- HOST CMD...` */
export async function rshMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      to: { type: 'string' },
      key: { type: 'string' },
      'known-host-key': { type: 'string' },
      'sync-id': { type: 'string' },
      'keepalive-ms': { type: 'string', default: '5000' },
      report: { type: 'string' },
    },
  });
  const { to, key, 'known-host-key': known, 'sync-id': syncId } = values;
  if (!to || !key || !known || !syncId || positionals.length < 2) {
    process.stderr.write('scribe-mover rsh: started by scribe-mover send only\n');
    return 1;
  }
  const code = await runRsh({
    to: parseEndpoint(to),
    keyPath: key,
    knownHostKeyPath: known,
    syncId,
    keepaliveMs: Number(values['keepalive-ms']),
    reportPath: values.report,
    command: positionals,
  });
  await new Promise<void>((resolve) => process.stdout.end(resolve));
  return code;
}
