import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import express from 'express';

// The baseline: a minimal express handler over the same TLS that only echoes
// allowed: true for the same bodies. argv: PORT CERT KEY
const [port, cert, key] = process.argv.slice(2) as [string, string, string];
const app = express();
app.post(
  ['/mutate/pods', '/validate/persistentvolumeclaims'],
  express.json({ limit: '8mb' }),
  (req, res) => {
    const uid = (req.body as { request?: { uid?: string } }).request?.uid;
    res.json({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid, allowed: true },
    });
  },
);
app.get('/readyz', (_req, res) => {
  res.send('ok');
});
createServer({ cert: readFileSync(cert), key: readFileSync(key) }, app).listen(
  Number(port),
  '127.0.0.1',
);
