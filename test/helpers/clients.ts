// Real POP clients run as child processes: python3's poplib and curl.
import { execFile } from 'node:child_process';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: options.env ?? process.env, encoding: 'latin1' },
      (err, stdout, stderr) => {
        // execFile reports a non-zero exit as err.code (a number); a spawn failure has a string code.
        const exit: unknown = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof exit === 'number' ? exit : 1, stdout, stderr });
      },
    );
    child.stdin?.on('error', () => {}); // a command that exits before reading its input must not crash the test
    child.stdin?.end(options.input ?? '');
  });
}

/**
 * Runs a python3 script with poplib imported and `port` defined; the script prints JSON on its last
 * line, which is parsed and returned.
 */
export async function poplib<T = unknown>(port: number, body: string): Promise<T> {
  const script = `import poplib, json, sys\nport = ${port}\n${body}\n`;
  const r = await run('python3', ['-c', script]);
  if (r.code !== 0) throw new Error(`python3 failed (${r.code}): ${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

/** `curl pop3://127.0.0.1:PORT/PATH -u USER:PASS`, output as raw bytes. */
export async function curlPop(
  port: number,
  path: string,
  user: string,
  password: string,
  extra: string[] = [],
): Promise<{ code: number; body: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'curl',
      ['-s', '-S', ...extra, `pop3://127.0.0.1:${port}/${path}`, '-u', `${user}:${password}`],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as NodeJS.ErrnoException).code ?? 1) : 0, body: stdout, stderr: stderr.toString() });
      },
    );
  });
}
