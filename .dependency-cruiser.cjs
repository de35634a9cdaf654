// Imports point down (shared/DESIGN.md principle 9). The floors, top to bottom:
//   cli -> modules/<protocol> -> modules/kernel -> listeners, submission, certs -> accounts
// A floor may import from any floor below it, never from one above, and the folders of one floor do
// not import each other; protocol modules see the mail-store contract, never an implementation of it.
// `npm test` runs this (test/unit/imports.test.ts): a circle or an upward import fails the tests.
const floor2 = '^(listeners|submission|certs)/';
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'a circle of imports', from: {}, to: { circular: true } },
    { name: 'accounts-is-the-bottom', severity: 'error', from: { path: '^accounts/' }, to: { path: '^(listeners|submission|certs|modules|cli)/' } },
    { name: 'floor-2-looks-down-only', severity: 'error', from: { path: floor2 }, to: { path: '^(modules|cli)/' } },
    { name: 'floor-2-not-sideways', severity: 'error', from: { path: '^listeners/' }, to: { path: '^(submission|certs)/' } },
    { name: 'floor-2-not-sideways-submission', severity: 'error', from: { path: '^submission/' }, to: { path: '^(listeners|certs)/' } },
    { name: 'floor-2-not-sideways-certs', severity: 'error', from: { path: '^certs/' }, to: { path: '^(listeners|submission)/' } },
    { name: 'kernel-below-modules', severity: 'error', from: { path: '^modules/kernel/' }, to: { path: '^(modules/(?!kernel/)|cli/)' } },

    { name: 'pop-not-imap', severity: 'error', from: { path: '^modules/pop/' }, to: { path: '^modules/(imap|lmtp)/' } },
    { name: 'imap-not-pop', severity: 'error', from: { path: '^modules/imap/' }, to: { path: '^modules/(pop|lmtp)/' } },
    {
      name: 'contract-not-implementation',
      severity: 'error',
      comment: 'the mail-store contract and the protocol modules never see an implementation of it',
      from: { path: '^(accounts/[^/]+$|modules/(pop|imap|lmtp)/)' },
      to: { path: '^accounts/(maildir|memory)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test|bench)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
