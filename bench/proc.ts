// Readings from /proc: CPU time and memory of a server, which for Dovecot is a tree of processes.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks = 0;
/** USER_HZ, the unit of the times in /proc/PID/stat (100 on Linux almost everywhere). */
function ticksPerSecond(): number {
  if (clockTicks === 0) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface Stat {
  pid: number;
  ppid: number;
  /** utime + stime of the process (all its threads), in ticks. */
  own: number;
  /** cutime + cstime: children it has waited for, in ticks. */
  children: number;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null; // exited meanwhile
  }
  const f = fieldsFromState(text);
  // f[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14-17.
  return { pid, ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
}

/** The fields of a /proc stat line from field 3 (the state) on: the command name (field 2) may hold spaces and parentheses. */
function fieldsFromState(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** True when every thread of the process is stopped (state T in /proc/PID/task/TID/stat), or it is gone. */
export function allThreadsStopped(pid: number): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true; // gone
  }
  return tids.every((tid) => {
    try {
      return fieldsFromState(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1'))[0] === 'T';
    } catch {
      return true; // the thread ended
    }
  });
}

function allStats(): Stat[] {
  const stats: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) stats.push(s);
  }
  return stats;
}

/** `root` and every process below it. */
export function processTree(root: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const s of allStats()) {
    const list = byParent.get(s.ppid) ?? [];
    list.push(s.pid);
    byParent.set(s.ppid, list);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(byParent.get(pid) ?? []));
  }
  return tree;
}

/**
 * CPU seconds (user + system) used so far by the process tree at `root`, counting processes that
 * already exited: the sum over living processes of their own times plus the times of the children
 * they waited for (cutime/cstime). Each exited process is counted once, in the process that reaped
 * it, as long as its reaper is in the tree (Dovecot's master reaps all its service processes).
 */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const s = readStat(pid);
    if (s) ticks += s.own + s.children;
  }
  return ticks / ticksPerSecond();
}

function statusField(pid: number, file: string, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface Memory {
  processes: number;
  /** Sum of VmRSS over the tree, KiB: shared pages are counted once per process. */
  rssKiB: number;
  /** Sum of Pss (proportional set size), KiB: shared pages divided among the processes sharing them. */
  pssKiB: number;
}

export function treeMemory(root: number): Memory {
  const pids = processTree(root);
  let rssKiB = 0;
  let pssKiB = 0;
  for (const pid of pids) {
    rssKiB += statusField(pid, 'status', 'VmRSS');
    pssKiB += statusField(pid, 'smaps_rollup', 'Pss');
  }
  return { processes: pids.length, rssKiB, pssKiB };
}

/** SIGKILLs `root` and everything below it, leaves first; for cleanup when nothing else worked. */
export function killTreeSync(root: number): void {
  for (const pid of processTree(root).reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** How many processes of the tree run each program (from /proc/PID/comm), e.g. { pop3: 2, auth: 1 }. */
export function processCounts(root: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const pid of processTree(root)) {
    try {
      const name = readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
      counts[name] = (counts[name] ?? 0) + 1;
    } catch {
      // exited meanwhile
    }
  }
  return counts;
}
