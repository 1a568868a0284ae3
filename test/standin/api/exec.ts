// pods/exec as kube-apiserver serves it over WebSocket: the PodExecOptions
// in the query, the checks the apiserver makes before it calls the kubelet
// (pod, container, node), and the channel.k8s.io framing: one byte of
// channel before each message (0 stdin, 1 stdout, 2 stderr, 3 the closing
// Status, 4 resize; v5 adds 255 = "close this channel"). The command runs
// through a hook the kubelet stand-in provides.
import type { V1Pod, V1Status } from '@kubernetes/client-node';
import type { Readable, Writable } from 'node:stream';
import { badRequest } from './status-errors.ts';
import type { WebSocketConnection } from './websocket.ts';

/** Served subprotocols, newest first; v1-v3 (plain-text errors) are not served. */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

export interface ExecOptions {
  container?: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface ExecRequest extends ExecOptions {
  namespace: string;
  pod: string;
  container: string;
  /** Only check that the command could run (the kubelet's refusals); start nothing. */
  dryRun?: boolean;
}

/** A command running in a container. */
export interface ExecProcess {
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Exit code (128 + signal when killed). */
  exited: Promise<number>;
  kill(): void;
}

/** Runs a command in a running container; throws an Error with the kubelet's words when it cannot. */
export type PodExec = (r: ExecRequest) => Promise<ExecProcess>;

const truthy = (v: string | null): boolean => v === 'true' || v === '1';

/** PodExecOptions from the query, as the apiserver decodes and checks them. Pure. */
export function parseExecOptions(q: URLSearchParams): ExecOptions {
  const o: ExecOptions = {
    command: q.getAll('command'),
    stdin: truthy(q.get('stdin')),
    stdout: truthy(q.get('stdout')),
    stderr: truthy(q.get('stderr')),
    tty: truthy(q.get('tty')),
  };
  const container = q.get('container');
  if (container) o.container = container;
  if (o.command.length === 0) throw badRequest('you must specify at least 1 command');
  if (!o.stdin && !o.stdout && !o.stderr)
    throw badRequest('you must specify at least one of stdin, stdout, stderr');
  return o;
}

/** The container an exec goes to, or the apiserver's 400 (pod/strategy.go streamLocation). Pure. */
export function execContainer(pod: V1Pod, container: string | undefined): string {
  const name = pod.metadata?.name ?? '';
  const containers = pod.spec?.containers ?? [];
  const inits = pod.spec?.initContainers ?? [];
  if (container === undefined) {
    if (containers.length === 1) return containers[0]!.name;
    if (containers.length === 0)
      throw badRequest(`a container name must be specified for pod ${name}`);
    let msg = `a container name must be specified for pod ${name}, choose one of: [${containers.map((c) => c.name).join(' ')}]`;
    if (inits.length > 0)
      msg += ` or one of the init containers: [${inits.map((c) => c.name).join(' ')}]`;
    throw badRequest(msg);
  }
  const ephemeral = pod.spec?.ephemeralContainers ?? [];
  if (![...containers, ...inits, ...ephemeral].some((c) => c.name === container))
    throw badRequest(`container ${container} is not valid for pod ${name}`);
  if (!pod.spec?.nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed')
    throw badRequest(
      `cannot exec into a container in a completed pod; current phase is ${String(phase)}`,
    );
  return container;
}

/** The Status sent on channel 3 when the command ends, as the kubelet words it. Pure. */
export function exitStatus(code: number, command: string[]): V1Status {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const CLOSE = 255;

const framed = (channel: number, data: Buffer): Buffer =>
  Buffer.concat([Buffer.from([channel]), data]);

/** Carries one exec session over an accepted WebSocket until the command ends or the client leaves. */
export async function runExecSession(
  ws: WebSocketConnection,
  proc: ExecProcess,
  command: string[],
): Promise<void> {
  let done = false;
  ws.onClose(() => {
    if (!done) proc.kill();
  });
  ws.onMessage((m) => {
    const channel = m[0];
    const data = m.subarray(1);
    if (channel === STDIN && proc.stdin?.writable) proc.stdin.write(data);
    else if (channel === CLOSE && data[0] === STDIN && ws.protocol.startsWith('v5.'))
      proc.stdin?.end();
    // 4 (resize) needs a terminal; the stand-in runs commands without one.
  });
  proc.stdin?.on('error', () => undefined); // the command need not read its stdin
  const drained = (r: Readable | null, channel: number): Promise<void> =>
    r === null
      ? Promise.resolve()
      : new Promise((resolve) => {
          r.on('data', (d: Buffer) => ws.send(framed(channel, d)));
          r.once('end', resolve);
          r.once('error', () => resolve());
        });
  const [code] = await Promise.all([
    proc.exited,
    drained(proc.stdout, STDOUT),
    drained(proc.stderr, STDERR),
  ]);
  done = true;
  ws.send(framed(ERROR, Buffer.from(JSON.stringify(exitStatus(code, command)))));
  ws.close();
}
