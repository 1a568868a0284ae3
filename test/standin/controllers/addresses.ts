// Loopback addresses for pods and services: all of 127.0.0.0/8 reaches this
// host, so every pod and every service proxy gets an address of its own and
// any number of them can listen on the same port.

export interface AddressPool {
  take(): string;
  release(ip: string): void;
}

/** Addresses 127.N.x.y (x.y from 0.2 up); `second` is N, one per cluster and use. */
export function addressPool(second: number): AddressPool {
  if (!Number.isInteger(second) || second < 1 || second > 254)
    throw new Error(`bad loopback block 127.${second}`);
  const used = new Set<string>();
  let next = 2;
  return {
    take() {
      for (let tries = 0; tries < 65_000; tries++) {
        const n = next;
        next = next >= 65_533 ? 2 : next + 1;
        const ip = `127.${second}.${n >> 8}.${n & 255}`;
        if ((n & 255) === 0 || (n & 255) === 255 || used.has(ip)) continue;
        used.add(ip);
        return ip;
      }
      throw new Error(`no free address left in 127.${second}.0.0/16`);
    },
    release: (ip) => void used.delete(ip),
  };
}
