// Imports point down (docs/architecture.md, "Floors"). The folders, top to bottom: a folder may import
// the folders listed below it, never one above it. `npm test` runs this (test/unit/imports.test.ts): a
// circle or an upward import fails the tests.
const FLOORS = [
  'cli', // the postern command
  'modules', // the protocols (one folder each) and the table that lists them
  'server', // the kernel, the Module API, the registry, the config, the process's life
  'cluster', // workers of one server, nodes sharing a Redis
  'sessions', // what every protocol session is built from: sign-in, SASL, throttle, mailbox access
  'submission', // mail a signed-in user sends (XTND XMIT), relayed
  'delivery', // local delivery: the headers it adds, bulletins, Sieve's actions carried out
  'sieve', // the Sieve language (RFC 5228 and its extensions): compiled, run into a list of actions
  'listeners', // sockets, TLS handshakes, PROXY headers, admission
  'certs', // TLS certificates
  'observability', // logs, metrics, the session transcript
  'store', // the mail-store contract and its implementations
  'accounts', // the directory of accounts, passwords, rights, the router
  'mime', // the one MIME reader: header fields, parts, transfer encodings, charsets, addresses
  'lib', // small tools every floor uses
];
const above = (i) => FLOORS.slice(0, i);

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'a circle of imports', from: {}, to: { circular: true } },
    ...FLOORS.slice(1).map((floor, k) => ({
      name: `${floor}-looks-down-only`,
      severity: 'error',
      comment: `${floor}/ may import only the folders below it: ${FLOORS.slice(k + 2).join(', ') || 'none'}`,
      from: { path: `^${floor}/` },
      to: { path: `^(${above(k + 1).join('|')})/` },
    })),
    {
      name: 'modules-not-sideways',
      severity: 'error',
      comment: 'a protocol module never imports another: what two of them need lives below them',
      from: { path: '^modules/([^/]+)/' },
      to: { path: '^modules/', pathNot: '^modules/$1/' },
    },
    {
      name: 'contract-not-implementation',
      severity: 'error',
      comment: 'the protocol modules and what they share see the mail-store contract, never an implementation of it',
      from: { path: '^(modules/[^/]+/|sessions/|delivery/|submission/|store/[^/]+$)' },
      to: { path: '^store/(maildir|memory)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test|bench)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
