// The stand-in's pod network for Node.js servers (controllers/pod-network.mjs):
// a listen on every address, or on none, is pinned to the pod's address, so
// two "pods" can use the same port as in a real cluster; a listen on a named
// address is left alone.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const preload = pathToFileURL(join(import.meta.dirname, 'controllers', 'pod-network.mjs')).href;

/** Runs a script as a container of a pod with this address would; returns what it prints. */
function inPod(podIP: string, script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [`--import=${preload}`, '--input-type=module', '-e', script],
      { env: { ...process.env, STANDIN_POD_IP: podIP }, timeout: 20_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim()),
    );
  });
}

const listenAll = (how: string) => `
import http from 'node:http';
const s = http.createServer();
await new Promise((r) => ${how});
console.log(JSON.stringify(s.address()));
s.close();`;

describe('pod network', () => {
  it('pins a wildcard or absent host to the pod address, in every listen form', async () => {
    for (const how of [
      's.listen(0, r)',
      "s.listen(0, '0.0.0.0', r)",
      "s.listen(0, '::', r)",
      's.listen({ port: 0 }, r)',
      "s.listen({ port: 0, host: '0.0.0.0' }, r)",
    ]) {
      const a = JSON.parse(await inPod('127.31.0.7', listenAll(how))) as { address: string };
      expect(a.address, how).toBe('127.31.0.7');
    }
    const named = JSON.parse(await inPod('127.31.0.7', listenAll("s.listen(0, '127.0.0.1', r)")));
    expect(named.address).toBe('127.0.0.1');
  });

  it('lets two pods listen on one port', async () => {
    // One pod (127.31.0.8) holds a port; a server of another pod listening
    // on every address still gets the same port on its own address.
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.31.0.8', r));
    const { port } = holder.address() as { port: number };
    try {
      const script = `
import net from 'node:net';
const s = net.createServer();
await new Promise((r, j) => { s.once('error', j); s.listen(${port}, r); });
console.log(s.address().address);
s.close();`;
      expect(await inPod('127.31.0.9', script)).toBe('127.31.0.9');
    } finally {
      holder.close();
    }
  });
});
