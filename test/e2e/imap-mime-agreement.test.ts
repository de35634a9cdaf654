// SEARCH BODY and FETCH read one MIME tree (issue 21, "One MIME reader"), over a raw socket on the real
// server: a message with malformed MIME (a multipart 40 levels deep whose inner boundaries are never
// closed, a line that only starts with the outer boundary, a part in an unknown transfer encoding, words
// in MIME headers, epilogues and on boundary lines). For every word, SEARCH BODY finds the message
// exactly when the word shows in the decoded content of a text part as FETCH gives it: BINARY[n] (the
// transfer encoding undone by the server); a part where BINARY answers [UNKNOWN-CTE] is not searched (as Dovecot).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ config: { listeners: [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }] } });
  await server.addAccount('alice', 'pw');
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const DEPTH = 40;

/** The message: each word once, in one place. */
function malformed(): Buffer {
  const lines = [
    'From: a@example.net',
    'Subject: mime agreement',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    'preambleword',
    '--outer',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'alpha qpsp=',
    'litword',
    '--outer',
    'Content-Type: multipart/mixed; boundary="u"',
    '',
    '--u',
    'Content-Type: text/plain',
    '',
    'unclosedfirstword',
    '--u',
    'Content-Type: text/plain',
    '',
    'unclosedlastword',
    '--outer',
    'Content-Type: text/plain',
    'Content-Transfer-Encoding: x-unknown',
    '',
    `unknowncteword ${Buffer.from('unknownbase64word').toString('base64')}`,
    '--outer',
  ];
  for (let i = 1; i <= DEPTH; i++)
    lines.push(`Content-Type: multipart/mixed; boundary="n${i}"`, `Content-Description: level${i}headerword`, '', `--n${i}`);
  lines.push(
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    'Content-Description: deepheaderword',
    '',
    Buffer.from('deepbase64word at the bottom').toString('base64'),
  );
  // the inner half is closed, each with an epilogue; the outer half never is
  for (let i = DEPTH; i > DEPTH / 2; i--) lines.push(`--n${i}--`, `epilogue${i}word`);
  lines.push('--outer-suffixword', 'Content-Type: text/plain', '', 'afterprefixword', '--outer--', 'outerepilogueword', '');
  return Buffer.from(lines.join('\r\n'));
}

const WORDS = [
  'preambleword',
  'qpsplitword',
  'unclosedfirstword',
  'unclosedlastword',
  'unknowncteword',
  'unknownbase64word',
  'level1headerword',
  'level35headerword',
  'deepheaderword',
  'deepbase64word',
  'epilogue40word',
  'epilogue30word',
  'epilogue21word',
  'suffixword',
  'afterprefixword',
  'outerepilogueword',
];

// ---- BODYSTRUCTURE, read just enough to list the leaf parts ----

type Node = string | null | Node[];

function parseList(text: string): Node {
  let pos = 0;
  const value = (): Node => {
    while (text[pos] === ' ') pos++;
    const c = text[pos];
    if (c === '(') {
      pos++;
      const items: Node[] = [];
      while (text[pos] !== ')') {
        items.push(value());
        while (text[pos] === ' ') pos++;
      }
      pos++;
      return items;
    }
    if (c === '"') {
      let s = '';
      for (pos++; text[pos] !== '"'; pos++) s += text[pos] === '\\' ? text[++pos] : text[pos];
      pos++;
      return s;
    }
    if (c === '{') {
      const m = /^\{(\d+)\}\r\n/.exec(text.slice(pos))!;
      pos += m[0].length + Number(m[1]);
      return text.slice(pos - Number(m[1]), pos);
    }
    const m = /^[^ ()]+/.exec(text.slice(pos))!;
    pos += m[0].length;
    return m[0] === 'NIL' ? null : m[0];
  };
  return value();
}

/** The section paths of the leaf parts with their type, in order. */
function leaves(node: Node[], path: number[], out: { path: string; type: string }[]): void {
  if (Array.isArray(node[0])) {
    for (const [i, child] of node.filter(Array.isArray).entries()) leaves(child, [...path, i + 1], out);
    return;
  }
  out.push({ path: path.length === 0 ? '1' : path.join('.'), type: `${node[0]}/${node[1]}`.toLowerCase() });
}

/** The literal of a FETCH item in a response line. */
function literalOf(line: string, item: string): string {
  const at = line.indexOf(`${item} `);
  const m = /^~?\{(\d+)\}\r\n/.exec(line.slice(at + item.length + 1));
  if (!m) throw new Error(`no literal for ${item} in ${line.slice(0, 200)}`);
  const start = at + item.length + 1 + m[0].length;
  return line.slice(start, start + Number(m[1]));
}

describe('SEARCH BODY and FETCH agree on a malformed message', () => {
  it('a word is found by SEARCH BODY exactly when a text part shows it in FETCH, decoded as the server decodes it', async () => {
    const c = await RawImap.signIn(server.portOf('imap'), 'alice', 'pw');
    const message = malformed();
    expect((await c.command(Buffer.concat([Buffer.from(`APPEND INBOX {${message.length}+}\r\n`), message]))).status).toBe('OK');
    expect((await c.command('SELECT INBOX')).status).toBe('OK');

    const bs = await c.command('FETCH 1 (BODYSTRUCTURE)');
    const line = bs.untagged.find((l) => l.startsWith('* 1 FETCH'))!;
    const structure = parseList(line.slice(line.indexOf('BODYSTRUCTURE ') + 'BODYSTRUCTURE '.length)) as Node[];
    const parts: { path: string; type: string }[] = [];
    leaves(structure, [], parts);
    // the tree FETCH sees: the 40 levels are there, and the line "--outer-suffixword" starts a part
    expect(parts.some((p) => p.path.split('.').length === DEPTH + 1)).toBe(true);

    const shown: string[] = [];
    for (const p of parts.filter((q) => q.type.startsWith('text/'))) {
      const binary = await c.command(`FETCH 1 (BINARY.PEEK[${p.path}])`);
      if (binary.status !== 'OK') {
        // a transfer encoding the server cannot undo: SEARCH skips the part, as Dovecot does (README)
        expect(binary.tagged).toContain('[UNKNOWN-CTE]');
        continue;
      }
      const content = literalOf(binary.untagged.find((l) => l.startsWith('* 1 FETCH'))!, `BINARY[${p.path}]`);
      shown.push(Buffer.from(content, 'latin1').toString('utf8').toLowerCase());
    }

    const disagreements: string[] = [];
    const found: string[] = [];
    for (const word of WORDS) {
      const inFetch = shown.some((text) => text.includes(word));
      const search = await c.command(`SEARCH BODY ${word}`);
      expect(search.status).toBe('OK');
      const inSearch = search.untagged.some((l) => /^\* SEARCH( \d+)*$/.test(l) && l.split(' ').includes('1'));
      if (inSearch) found.push(word);
      if (inFetch !== inSearch)
        disagreements.push(`${word}: FETCH ${inFetch ? 'shows' : 'does not show'} it, SEARCH ${inSearch ? 'finds' : 'does not find'} it`);
    }
    expect(disagreements).toEqual([]);
    // and what FETCH shows here, by Dovecot's rule: decoded text parts, at every depth, nothing else
    expect(found.sort()).toEqual(['afterprefixword', 'deepbase64word', 'qpsplitword', 'unclosedfirstword', 'unclosedlastword'].sort());
    c.close();
  });
});
