// postern who [MASK] [--protocol P] [--address IP[/BITS]] [--node N] [--sessions] [--json]: the
// signed-in sessions of every worker and node of the running server, as doveadm who shows them: one
// line per account and protocol with the count, the nodes and the client addresses (--sessions: one
// line per session). Asked over the control socket (cli/control.ts).
import type { Command } from 'commander';
import type { WhoAnswer, WhoQuery, WhoSession } from '../cluster/admin/who.js';
import { accountName, askServer, checkProtocol, controlContext } from './control.js';
import { withExitCodes } from './exit.js';

interface WhoOptions {
  protocol?: string;
  address?: string;
  node?: string;
  sessions?: boolean;
  json?: boolean;
}

/** Where a session is served: the node, and its worker when there are several. */
const place = (s: WhoSession) => (s.worker === null ? s.node : `${s.node}/${s.worker}`);

/** Rows as columns padded to their widest cell. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n');
}

const uniq = (values: readonly string[]) => [...new Set(values)].join(' ');

/** One line per account and protocol (doveadm who): the count, the nodes, the addresses. */
export function grouped(sessions: readonly WhoSession[]): string {
  const groups = new Map<string, WhoSession[]>();
  for (const s of sessions) {
    const key = `${s.account}\0${s.protocol}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const rows = [...groups.values()]
    .sort((a, b) => a[0].account.localeCompare(b[0].account) || a[0].protocol.localeCompare(b[0].protocol))
    .map((g) => [g[0].account, String(g.length), g[0].protocol, `(${uniq(g.map(place))})`, `(${uniq(g.map((s) => s.remoteAddress))})`]);
  return table([['account', '#', 'protocol', '(nodes)', '(addresses)'], ...rows]);
}

/** One line per session (doveadm who -1). */
export function oneByOne(sessions: readonly WhoSession[]): string {
  const rows = [...sessions]
    .sort((a, b) => a.account.localeCompare(b.account) || a.since - b.since)
    .map((s) => [s.account, s.protocol, s.remoteAddress, place(s), new Date(s.since).toISOString(), s.id]);
  return table([['account', 'protocol', 'address', 'node', 'since', 'id'], ...rows]);
}

export function whoCommand(program: Command): void {
  program
    .command('who')
    .argument('[mask]', 'an account (NAME[@DOMAIN]), or a mask with * and ? (*@example.org)')
    .option('--protocol <module>', 'only sessions of this module (pop, imap, managesieve, submission ...)')
    .option('--address <ip>', 'only sessions from this client address, or network as ADDRESS/BITS')
    .option('--node <node>', 'only sessions of this node (host:pid, as listed)')
    .option('--sessions', 'one line per session (with its address, node, start and connection id)')
    .option('--json', 'the sessions as JSON')
    .description('list who is signed in, over every worker and node of the running server (doveadm who)')
    .action(async (mask: string | undefined, o: WhoOptions, cmd: Command) =>
      withExitCodes(async () => {
        const ctx = await controlContext(cmd.optsWithGlobals().config);
        const query: WhoQuery = {
          ...(mask !== undefined && { account: /[*?@]/.test(mask) ? mask : accountName(ctx, mask) }),
          ...(o.protocol !== undefined && { protocol: checkProtocol(ctx, o.protocol) }),
          ...(o.address !== undefined && { address: o.address }),
          ...(o.node !== undefined && { node: o.node }),
        };
        const answer = await askServer<WhoAnswer>(ctx, { op: 'who', query });
        if (o.json) process.stdout.write(`${JSON.stringify({ sessions: answer.sessions, unanswered: answer.unanswered }, null, 2)}\n`);
        else if (answer.sessions.length > 0) process.stdout.write(`${o.sessions ? oneByOne(answer.sessions) : grouped(answer.sessions)}\n`);
        for (const u of answer.unanswered) process.stderr.write(`postern: not listed: ${u} did not answer\n`);
      }, []),
    );
}
