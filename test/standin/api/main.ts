// Runs one stand-in API server from the command line, for trying it by hand:
//   node test/standin/api/main.ts --kubeconfig /tmp/standin.kubeconfig [--name source] [--port 6443]
// then KUBECONFIG=/tmp/standin.kubeconfig kubectl get ns. Ctrl-C stops it.
import { parseArgs } from 'node:util';
import { startApiServer } from './server.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    name: { type: 'string', default: 'standin' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
if (!values.kubeconfig) {
  process.stderr.write('error: --kubeconfig PATH is required (where to write the kubeconfig)\n');
  process.exit(2);
}
const server = await startApiServer({
  name: values.name,
  host: values.host,
  port: Number(values.port),
});
await server.writeKubeconfig(values.kubeconfig, values.name);
process.stdout.write(
  `${values.name}: ${server.url} (kubeconfig ${values.kubeconfig}, context ${values.name})\n`,
);
const stop = (): void => {
  void server.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
