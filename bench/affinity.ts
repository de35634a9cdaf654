// CPU pinning for the RETR runs. One client session against one server process, one command at a
// time, is a ping-pong between two processes: on a 2-core machine its speed then depends mostly on
// whether the scheduler happens to run both on one core (no cross-core wake-up) or not, which swung
// passes of the same server between 22 and 77 MB/s in one run here. Pinning the generator to one core and every
// process of the server to the other gives each server the same, repeatable arrangement.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { processTree } from './proc.js';

export interface Pinning {
  generatorCpu: string;
  serverCpu: string;
}

/** The arrangement used on this machine, or null with fewer than 2 cores or without taskset(1). */
export function retrPinning(): Pinning | null {
  if (cpus().length < 2) return null;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return { generatorCpu: '0', serverCpu: '1' };
}

export function allCpus(): string {
  return `0-${cpus().length - 1}`;
}

/** Sets the CPU list of `pid` and all its threads; a process that exited meanwhile is skipped. */
export function pinProcess(pid: number, cpuList: string): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
  } catch {
    // gone already
  }
}

/** Pins `root` and every process below it; processes forked later inherit it from their parent. */
export function pinTree(root: number, cpuList: string): void {
  for (const pid of processTree(root)) pinProcess(pid, cpuList);
}
