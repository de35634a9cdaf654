// The measured window of a timed run in a load generator: a warm-up, then `durationMs` in which what
// ends counts, with the generator's own CPU time over the window. The orchestrator is told when the
// window opens and closes (it reads the server's CPU then). Timers may fire a little late under load:
// whichever comes first, the timer or a loop seeing the clock past the mark, moves the phase on (once).
import type { CpuSeconds } from './protocol.js';

export class MeasuredWindow {
  readonly start: number;
  readonly end: number;
  private phase: 'warm-up' | 'measuring' | 'done' = 'warm-up';
  private cpuStart = process.cpuUsage();
  private cpu: CpuSeconds = { user: 0, system: 0 };
  private readonly timers: NodeJS.Timeout[];

  constructor(
    warmupMs: number,
    durationMs: number,
    private readonly told: (phase: 'start' | 'end') => void,
  ) {
    this.start = Date.now() + warmupMs;
    this.end = this.start + durationMs;
    this.timers = [setTimeout(() => this.open(), warmupMs), setTimeout(() => this.close(), warmupMs + durationMs)];
  }

  /** True until the window has closed: loops go on while it is. */
  get running(): boolean {
    return Date.now() < this.end;
  }

  /** True when `at` (now) is inside the window: what ends then counts. */
  contains(at = Date.now()): boolean {
    return at >= this.start && at < this.end;
  }

  /** Opens the window if its time has come (a loop calls this too, in case the timer is late). */
  open(): void {
    if (this.phase !== 'warm-up') return;
    this.phase = 'measuring';
    this.cpuStart = process.cpuUsage();
    this.told('start');
  }

  private close(): void {
    this.open();
    if (this.phase !== 'measuring') return;
    this.phase = 'done';
    const d = process.cpuUsage(this.cpuStart);
    this.cpu = { user: d.user / 1e6, system: d.system / 1e6 };
    this.told('end');
  }

  /** Closes the window (if the timer has not) and gives the generator's CPU time in it. */
  finish(): CpuSeconds {
    this.close();
    for (const t of this.timers) clearTimeout(t);
    return this.cpu;
  }
}
