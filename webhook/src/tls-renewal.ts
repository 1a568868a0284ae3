// When to renew: after two thirds of the lifetime, as cert-manager does by default.
export function renewalTime(cert: { notBefore: Date; notAfter: Date }): Date {
  const life = cert.notAfter.getTime() - cert.notBefore.getTime();
  return new Date(cert.notBefore.getTime() + Math.floor((life * 2) / 3));
}
