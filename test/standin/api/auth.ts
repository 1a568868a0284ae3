// Bearer-token authentication and the small authorizer the stand-in has: the
// admin token may do anything (system:masters), the read-only token may get,
// list and watch. No token is system:anonymous, which, as with RBAC on a real
// cluster, is refused with 403 rather than 401.
import { randomBytes } from 'node:crypto';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

export interface Tokens {
  admin: string;
  readOnly: string;
}

export function newTokens(): Tokens {
  return {
    admin: randomBytes(24).toString('base64url'),
    readOnly: randomBytes(24).toString('base64url'),
  };
}

export const ANONYMOUS: UserInfo = {
  username: 'system:anonymous',
  groups: ['system:unauthenticated'],
};

/** The user a request is, `undefined` for a bad token (401), ANONYMOUS without one. */
export function authenticate(
  authorization: string | undefined,
  tokens: Tokens,
): UserInfo | undefined {
  if (!authorization) return ANONYMOUS;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) return undefined;
  if (m[1] === tokens.admin)
    return { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
  if (m[1] === tokens.readOnly) return { username: 'viewer', groups: ['system:authenticated'] };
  return undefined;
}

const READ_VERBS = new Set(['get', 'list', 'watch']);

export function allowed(user: UserInfo, verb: string): boolean {
  if (user.groups.includes('system:masters')) return true;
  if (user === ANONYMOUS || user.username === ANONYMOUS.username) return false;
  return READ_VERBS.has(verb);
}
