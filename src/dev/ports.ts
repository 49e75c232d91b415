import { createServer } from 'node:net';

/** A port `npm run dev` is about to listen on, named by the variable that sets it. */
export interface WantedPort {
  variable: string;
  port: number;
  /** The address the component binds; omitted for all interfaces (the API). */
  host?: string;
}

/** Start-up cannot go on; the message says what to change, a stack trace would add nothing. */
export class PortsUnavailableError extends Error {}

async function bindError(port: number, host: string | undefined): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}

/**
 * Binds each port the way its component will, before anything starts: a busy port otherwise shows
 * up as a component's stack trace, or as a start-up that waits for a server that never comes.
 */
export async function checkPortsFree(wanted: WantedPort[]): Promise<void> {
  const problems: string[] = [];
  const seen = new Map<number, string>();
  for (const { variable, port, host } of wanted) {
    const other = seen.get(port);
    if (other) {
      problems.push(`port ${port} is set for both ${other} and ${variable}: give each its own port`);
      continue;
    }
    seen.set(port, variable);
    const error = await bindError(port, host);
    if (error?.code === 'EADDRINUSE') {
      problems.push(`port ${port} (${variable}) is already in use: stop what listens there or set ${variable} to a free port`);
    } else if (error) {
      problems.push(`port ${port} (${variable}) cannot be opened (${error.code ?? error.message}): set ${variable} to another port`);
    }
  }
  if (problems.length > 0) throw new PortsUnavailableError(problems.join('\n'));
}
