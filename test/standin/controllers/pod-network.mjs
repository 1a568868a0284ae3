// Loaded (node --import) into the Node.js programs of Scribe's image that the
// stand-in's kubelet runs. A real pod has its own network namespace, so a
// server that listens on every address (or names none) is reachable on the
// pod's address only, and two replicas may use the same port. Here pods share
// the host's network: such a listen is pinned to the pod's address
// (STANDIN_POD_IP), which keeps both properties.
import net from 'node:net';
import process from 'node:process';

const podIP = process.env.STANDIN_POD_IP;
const wildcard = (host) =>
  host === undefined || host === null || ['0.0.0.0', '::', '[::]', '*', ''].includes(host);

if (podIP) {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function pinnedListen(...args) {
    const [first, second] = args;
    if (args.length === 0 || typeof first === 'function') {
      return listen.call(this, 0, podIP, ...args);
    }
    if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      if (typeof second === 'string' && !wildcard(second)) return listen.apply(this, args);
      const rest = typeof second === 'string' ? args.slice(2) : args.slice(1);
      return listen.call(this, first, podIP, ...rest);
    }
    if (first && typeof first === 'object' && first.path === undefined && !first._handle) {
      if (first.port !== undefined && wildcard(first.host)) {
        return listen.call(this, { ...first, host: podIP }, ...args.slice(1));
      }
    }
    return listen.apply(this, args);
  };
}
