import net from 'node:net';

// rsync's remote shell when `scribe-mover send` carries the transfer itself.
// rsync starts its remote shell with two socket pairs as stdin and stdout; this
// process hands both sockets, with the command rsync asked for, to the sender
// over the IPC channel it inherited through rsync, then only waits for the
// exit code. The sender reads and writes rsync's sockets directly on its own,
// already authenticated SSH connection: no second Node.js process loading ssh2
// and no second key exchange per sync, and no relay hop of its own. Kept free
// of imports beyond node:net so that it starts in tens of milliseconds.

/** Messages between the sender and this process. */
export type HandoffMessage =
  | { type: 'rsh-stdin'; command: string[] }
  | { type: 'rsh-stdout' }
  | { type: 'rsh-exit'; code: number };

export function isHandoffMessage(m: unknown): m is HandoffMessage {
  return (
    typeof m === 'object' && m !== null && String((m as { type?: unknown }).type).startsWith('rsh-')
  );
}

export function rshHandoffMain(argv: string[]): Promise<number> {
  const send = process.send?.bind(process);
  if (!send || argv.length < 2) {
    process.stderr.write('scribe-mover rsh-handoff: started by scribe-mover send only\n');
    return Promise.resolve(1);
  }
  // rsync passes "HOST rsync --server ..."; the host part is the sender's already.
  const command = argv.slice(1);
  // Neither socket may be read here: a readable one starts reading at once
  // and would swallow rsync's first bytes before the handoff.
  const fromRsync = new net.Socket({ fd: 0, readable: false, writable: false });
  const toRsync = new net.Socket({ fd: 1, readable: false, writable: false });
  return new Promise((resolve) => {
    process.on('message', (m: unknown) => {
      if (isHandoffMessage(m) && m.type === 'rsh-exit') resolve(m.code);
    });
    // The sender going away (killed, or done without a word) ends rsync's link.
    process.on('disconnect', () => resolve(255));
    send({ type: 'rsh-stdin', command } satisfies HandoffMessage, fromRsync);
    send({ type: 'rsh-stdout' } satisfies HandoffMessage, toRsync);
  });
}
