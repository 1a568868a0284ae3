export interface Endpoint {
  host: string;
  port: number;
}

const bracketed = /^\[([0-9a-fA-F:.%a-zA-Z]+)\]:(\d+)$/;
const plain = /^([^:[\]]+):(\d+)$/;

/** Parses HOST:PORT or [IPv6]:PORT, the forms kubectl and OpenSSH users write. */
export function parseEndpoint(text: string): Endpoint {
  const m = bracketed.exec(text) ?? plain.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(
      `invalid address "${text}": expected HOST:PORT, e.g. 10.0.0.5:2222 or [fd00::5]:2222`,
    );
  }
  return { host: m[1], port };
}

export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}
