// Everything the benchmark starts or creates is registered here, so that it is killed and removed
// whatever happens: normal end, an exception, Ctrl-C. The async paths (try/finally in run.ts) stop
// servers gracefully; the 'exit' hook below is the synchronous last resort.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { killTreeSync } from './proc.js';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let keepDirs = false;

export function trackChild(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function trackDir(dir: string): string {
  dirs.add(dir);
  return dir;
}

export function untrackDir(dir: string): void {
  dirs.delete(dir);
}

/** --keep: leave the temporary folder for inspection. */
export function keepTemporaryFiles(): void {
  keepDirs = true;
}

function cleanupSync(): void {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) killTreeSync(child.pid);
  }
  children.clear();
  if (!keepDirs) {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs.clear();
  }
}

let installed = false;
export function installCleanupHooks(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping every server and generator, removing temporary files\n`);
      process.exit(130);
    });
  }
}
