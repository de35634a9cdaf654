// One Ctrl-C in a terminal is one stop, even when it reaches the server twice. The terminal sends SIGINT
// to its whole foreground process group: under `npm start` that is npm and the server, and npm then
// passes its own SIGINT on to the server as well. Without this, the second copy, a few milliseconds after
// the first, looked like a second stop signal ("exit now") and cut every open session: a POP client's
// DELE before QUIT was lost. A second signal is still "exit now" when a person sends it: later than
// ECHO_WINDOW_MS after the first, or of another kind (SIGTERM after SIGINT).
const ECHO_WINDOW_MS = 1000;

export class SameKeypress {
  private first: { signal: string; at: number } | null = null;

  /** Records the signal that started the stop. */
  heard(signal: string): void {
    this.first = { signal, at: Date.now() };
  }

  /** True when `signal` is the first one again, too soon after it to be a person's second keypress. */
  echoed(signal: string): boolean {
    return this.first !== null && this.first.signal === signal && signal === 'SIGINT' && Date.now() - this.first.at < ECHO_WINDOW_MS;
  }
}
