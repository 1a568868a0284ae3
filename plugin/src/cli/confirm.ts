// Asking before destroying anything, as `kubectl delete --interactive` does:
// a question on the terminal, or --yes. Without a terminal there is nobody to
// ask, so the caller's error says to pass --yes.
import { createInterface } from 'node:readline/promises';
import { CliError } from '../errors.ts';

export async function confirm(
  question: string,
  yes: boolean | undefined,
  howToSkip: string,
): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new CliError(
      `${question.replace(/\?$/, '')}: confirm with --yes (no terminal to ask on). ${howToSkip}`,
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N]: `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new CliError('cancelled: nothing was changed');
  } finally {
    rl.close();
  }
}
