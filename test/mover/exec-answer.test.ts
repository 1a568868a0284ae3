// A command's answer that arrives in the same read as the exec's success
// reply. A load balancer or proxy between sender and receiver often delivers
// the receiver's packets together; the commit is answered without reading any
// input, so its exit status can come with the success. ssh2 emits 'exit' as a
// plain event while it parses that read: a listener attached when the exec's
// promise resolves, a microtask later, misses it, and a complete sync looked
// unrecorded to the sender.
import { once } from 'node:events';
import net from 'node:net';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshKeyPair } from '../../mover/src/keys.ts';
import { connect, exec, execCollect, type Connection } from '../../mover/src/ssh-transport.ts';

const { Server, utils } = ssh2;
// Not ssh2's generator directly: about one pair in 130 does not parse.
const hostKey = freshKeyPair('host');
const clientKey = freshKeyPair('client');

let server: InstanceType<typeof Server>;
let port: number;

beforeAll(async () => {
  server = new Server({ hostKeys: [hostKey.private] }, (conn) => {
    conn.on('authentication', (ctx) =>
      ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey']),
    );
    conn.on('ready', () =>
      conn.on('session', (accept) =>
        accept().on('exec', (acceptExec, _reject, req) => {
          // The success reply, output, exit status and close in one segment
          // (ssh2 keeps the socket as _sock): what a proxy's coalesced read gives.
          const sock = (conn as unknown as { _sock: net.Socket })._sock;
          sock.cork();
          // Answered at once, as the receiver answers a commit.
          const channel = acceptExec();
          channel.write(`ran ${req.command}\n`);
          channel.exit(req.command === 'fail' ? 3 : 0);
          channel.end();
          setImmediate(() => sock.uncork());
        }),
      ),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

async function connectToServer(): Promise<Connection> {
  return connect({
    to: { host: '127.0.0.1', port },
    clientKey: utils.parseKey(clientKey.private) as ssh2.ParsedKey,
    clientKeyText: Buffer.from(clientKey.private),
    pinnedHostKey: utils.parseKey(hostKey.public) as ssh2.ParsedKey,
  });
}

describe('a command answered in the same read as its channel', () => {
  it('still yields its exit status and output', async () => {
    const conn = await connectToServer();
    try {
      for (let i = 0; i < 5; i++) {
        expect(await execCollect(conn.client, 'scribe-commit s1')).toEqual({
          code: 0,
          stdout: 'ran scribe-commit s1\n',
          stderr: '',
        });
        expect((await execCollect(conn.client, 'fail')).code).toBe(3);
      }
      const channel = await exec(conn.client, 'other');
      channel.resume();
      const [code] = (await once(channel, 'close')) as [number | null];
      expect(code).toBe(0);
    } finally {
      conn.client.end();
    }
  });
});
